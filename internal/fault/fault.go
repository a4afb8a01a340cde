// Package fault is Tong's one error type: a stable machine-readable code,
// a description that is safe to show, and a cause kept for logs and
// errors.Is.
//
// Every package that refuses something with a code declares its own Code
// type and an alias of [Error]:
//
//	type Code string
//
//	type kind struct{}
//
//	func (kind) Prefix() string { return "didregistry" }
//
//	type Error = fault.Error[Code, kind]
//
// so its errors are matched with errors.As(err, &e) for an e of type
// *didregistry.Error, and two packages' errors never match each other's
// targets even when they share a code.
//
// The domain never knows HTTP statuses: each HTTP surface keeps the one
// table from its domain's codes to statuses (see docs/architecture.md,
// "Errors"), and [httpx.Error] is the error of that surface only.
//
// The package imports nothing but the standard library's errors and
// strings, so the wasm wallet can use it.
package fault

import (
	"errors"
	"strings"
)

// Kind names the package whose codes an [Error] carries. It is a zero-size
// type declared by that package; its Prefix begins every message
// ("didregistry: not_found: ..."), or is "" when the message starts with
// the code.
type Kind interface{ Prefix() string }

// Bare is the Kind of a package whose messages start with the code.
type Bare struct{}

// Prefix is "".
func (Bare) Prefix() string { return "" }

// Error is a refusal with a stable Code. Description is safe to show to
// the caller (it never holds secrets or claim values); Err is the cause,
// kept for logs and errors.Is.
type Error[C ~string, K Kind] struct {
	Code        C
	Description string
	Err         error
}

// Error is "prefix: code: description: cause", leaving out the parts that
// are empty. The cause is left out too when the description already ends
// with it, so a description built from its cause does not say it twice.
func (e *Error[C, K]) Error() string {
	var b strings.Builder
	var k K
	if p := k.Prefix(); p != "" {
		b.WriteString(p)
		b.WriteString(": ")
	}
	b.WriteString(string(e.Code))
	if e.Description != "" {
		b.WriteString(": ")
		b.WriteString(e.Description)
	}
	if e.Err != nil {
		if c := e.Err.Error(); c != "" && !strings.HasSuffix(e.Description, c) {
			b.WriteString(": ")
			b.WriteString(c)
		}
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error[C, K]) Unwrap() error { return e.Err }

// Is makes errors.Is(err, &Error{Code: c}) match any error of the same
// type with code c: a target with neither Description nor Err is a
// sentinel that names a code (didregistry.ErrNotFound).
func (e *Error[C, K]) Is(target error) bool {
	t, ok := target.(*Error[C, K])
	return ok && t.Code == e.Code && t.Description == "" && t.Err == nil
}

// CodeOf returns the Code of the first *Error[C, K] in err's chain, or "".
func CodeOf[C ~string, K Kind](err error) C {
	var e *Error[C, K]
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
