// Command tong runs Tong's services and tools: the DID registry, issuer,
// verifier and web pages (tong serve), and the CLIs that talk to them.
//
// Every flag also reads an environment variable: --addr is TONG_ADDR,
// --data is TONG_DATA, --wallet is TONG_WALLET, and so on. A flag given on
// the command line wins over the environment.
//
// Exit codes: 0 success, 1 failure, 2 usage error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// Main runs the command line and reports errors; it returns the exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	err := run(ctx, args, stdin, stdout, stderr, getenv)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "tong: error: %v\n", err)
	var ue *usageError
	var he *hintError
	switch {
	case errors.As(err, &ue):
		if ue.usage != "" {
			fmt.Fprintf(stderr, "\n%s", ue.usage)
		}
		return 2
	case errors.As(err, &he):
		fmt.Fprintf(stderr, "tong: hint: %s\n", he.hint)
	}
	return 1
}

// usageError is a mistake in how the command was called: exit code 2.
type usageError struct {
	err   error
	usage string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// hintError carries a suggestion that is printed after the error.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, hint string) error { return &hintError{err: err, hint: hint} }

func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}
