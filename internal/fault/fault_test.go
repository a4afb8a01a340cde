package fault_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/tongid/tong/internal/fault"
)

type code string

type reg struct{}

func (reg) Prefix() string { return "reg" }

type regError = fault.Error[code, reg]

// other has the same Code type but another Kind: its errors are a
// different type.
type other struct{}

func (other) Prefix() string { return "other" }

func TestError(t *testing.T) {
	t.Parallel()
	cause := errors.New("disk full")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"code only", &regError{Code: "not_found"}, "reg: not_found"},
		{"description", &regError{Code: "not_found", Description: "no such DID"}, "reg: not_found: no such DID"},
		{"cause", &regError{Code: "unavailable", Description: "could not commit", Err: cause}, "reg: unavailable: could not commit: disk full"},
		{"cause, no description", &regError{Code: "unavailable", Err: cause}, "reg: unavailable: disk full"},
		{"description built from the cause", &regError{Code: "bad", Description: "document: disk full", Err: cause}, "reg: bad: document: disk full"},
		{"bare", &fault.Error[code, fault.Bare]{Code: "invalid_grant", Description: "expired"}, "invalid_grant: expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestUnwrapAndAs(t *testing.T) {
	t.Parallel()
	e := &regError{Code: "unavailable", Description: "could not commit", Err: io.ErrUnexpectedEOF}
	wrapped := fmt.Errorf("publish: %w", fmt.Errorf("batch 3: %w", e))
	if got := errors.Unwrap(e); got != io.ErrUnexpectedEOF {
		t.Errorf("Unwrap() = %v, want %v", got, io.ErrUnexpectedEOF)
	}
	if !errors.Is(wrapped, io.ErrUnexpectedEOF) {
		t.Errorf("errors.Is(%v, io.ErrUnexpectedEOF) = false, want true", wrapped)
	}
	var got *regError
	if !errors.As(wrapped, &got) || got != e {
		t.Fatalf("errors.As(%v, *regError) = %v, want %v", wrapped, got, e)
	}
	if c := fault.CodeOf[code, reg](wrapped); c != "unavailable" {
		t.Errorf("CodeOf(%v) = %q, want unavailable", wrapped, c)
	}
	// Another package's error type does not match, even with the same
	// Code type and value.
	var o *fault.Error[code, other]
	if errors.As(wrapped, &o) {
		t.Errorf("errors.As(%v, *Error[code, other]) = true, want false", wrapped)
	}
	if c := fault.CodeOf[code, other](wrapped); c != "" {
		t.Errorf("CodeOf[code, other](%v) = %q, want \"\"", wrapped, c)
	}
	if c := fault.CodeOf[code, reg](io.EOF); c != "" {
		t.Errorf("CodeOf(io.EOF) = %q, want \"\"", c)
	}
}

func TestIsSentinel(t *testing.T) {
	t.Parallel()
	errNotFound := &regError{Code: "not_found"}
	err := fmt.Errorf("resolve: %w", &regError{Code: "not_found", Description: "did:tong:x is not registered"})
	tests := []struct {
		name   string
		target error
		want   bool
	}{
		{"sentinel of the same code", errNotFound, true},
		{"sentinel of another code", &regError{Code: "conflict"}, false},
		{"target with a description", &regError{Code: "not_found", Description: "did:tong:x is not registered"}, false},
		{"target with a cause", &regError{Code: "not_found", Err: io.EOF}, false},
		{"another kind's sentinel", &fault.Error[code, other]{Code: "not_found"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := errors.Is(err, tc.target); got != tc.want {
				t.Errorf("errors.Is(%v, %v) = %v, want %v", err, tc.target, got, tc.want)
			}
		})
	}
}

// registry is a package's error kind, as didregistry declares it.
type registry struct{}

func (registry) Prefix() string { return "didregistry" }

func ExampleError() {
	type Code string
	type Error = fault.Error[Code, registry]
	errNotFound := &Error{Code: "not_found"}

	err := fmt.Errorf("resolve: %w", &Error{Code: "not_found", Description: "did:tong:abc is not registered"})
	var e *Error
	fmt.Println(errors.As(err, &e), e.Code, errors.Is(err, errNotFound))
	fmt.Println(err)
	// Output:
	// true not_found true
	// resolve: didregistry: not_found: did:tong:abc is not registered
}
