package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// app is what every command shares: the streams, the environment and the
// global flags. Commands receive it; nothing is global.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	json           bool
	logLevel       string
	logFormat      string
}

// printResult writes v as JSON under --json, or calls text otherwise.
func (a *app) printResult(v any, text func(w io.Writer)) error {
	if a.json {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(a.stdout)
	return nil
}

// logger builds the process logger from --log-level and --log-format.
func (a *app) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
		return nil, usagef("--log-level must be debug, info, warn or error, not %q", a.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch a.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(a.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(a.stderr, opts)), nil
	}
	return nil, usagef("--log-format must be text or json, not %q", a.logFormat)
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "tong",
		Short: "Tong: self-sovereign identity for a city's public services",
		Long: `Tong connects agencies, citizens and service counters through verifiable
credentials anchored in a public, auditable DID registry.

Every flag can also be set through the environment: --addr is TONG_ADDR,
--data is TONG_DATA, and so on (TONG_ + the flag name in upper case, with
dashes as underscores). A flag on the command line wins.`,
		Example: `  # run every service with demo data, then open the printed URL
  tong serve --demo --data ./tong-data --addr 127.0.0.1:8080

  # print the version as JSON
  tong version --json`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.PersistentFlags().BoolVar(&a.json, "json", false, "print results as JSON")
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "text", "log format: text or json")
	root.AddCommand(
		newVersionCmd(a),
		newServeCmd(a),
		newWalletAppCmd(a),
		newKeyCmd(a),
		newCredentialCmd(a),
		newRegistryCmd(a),
		newIssuerCmd(a),
		newWalletCmd(a),
		newVerifierCmd(a),
		newAdminCmd(a),
		newWitnessCmd(a),
		newInquiryCmd(a),
	)
	return root
}

// run builds the command tree and executes args. It never exits the process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)

	started := false
	walk(root, func(c *cobra.Command) {
		c.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
			return &usageError{err: err, usage: c.UsageString()}
		})
		annotateEnv(c)
		if c.RunE != nil {
			inner := c.RunE
			c.RunE = func(c *cobra.Command, args []string) error {
				started = true
				return inner(c, args)
			}
		}
		if c.Args == nil && c.HasSubCommands() {
			c.Args = func(c *cobra.Command, args []string) error {
				if len(args) > 0 {
					return fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath())
				}
				return nil
			}
		}
		if c.RunE == nil && c.Run == nil && c.HasSubCommands() {
			c.RunE = func(c *cobra.Command, args []string) error {
				return &usageError{err: fmt.Errorf("%s needs a subcommand", c.CommandPath()), usage: c.UsageString()}
			}
		}
	})
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		return applyEnv(c, getenv)
	}

	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return nil
	}
	var ue *usageError
	if !started && !errors.As(err, &ue) {
		// Cobra's own complaints (unknown command, wrong number of
		// arguments, a missing required flag) come before RunE.
		return &usageError{err: err, usage: cmd.UsageString()}
	}
	if errors.As(err, &ue) && ue.usage == "" {
		ue.usage = cmd.UsageString()
	}
	return err
}

func walk(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		walk(sub, fn)
	}
}

// envName is the environment variable that sets flag name.
func envName(name string) string {
	if e, ok := envNames[name]; ok {
		return e
	}
	return "TONG_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// annotateEnv appends the environment name to each flag's help text.
func annotateEnv(c *cobra.Command) {
	for _, fs := range []*pflag.FlagSet{c.LocalNonPersistentFlags(), c.PersistentFlags()} {
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Name == "help" || strings.Contains(f.Usage, "[$TONG_") {
				return
			}
			f.Usage += " [$" + envName(f.Name) + "]"
		})
	}
}

// applyEnv sets every flag that the command line left unset from its
// environment variable.
func applyEnv(c *cobra.Command, getenv func(string) string) error {
	var err error
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || f.Name == "help" {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if serr := c.Flags().Set(f.Name, v); serr != nil {
				err = usagef("$%s: %v", envName(f.Name), serr)
			}
		}
	})
	return err
}
