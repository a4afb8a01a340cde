package dcql

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tongid/tong/internal/fault"
)

// Code is a stable, machine-readable reason why a DCQL query was rejected.
//
// OpenID4VP 1.0 defines no DCQL-specific error codes: every invalid query is
// an Authorization Request error, which a Wallet reports as the OAuth error
// "invalid_request" (OpenID4VP 1.0 §8.5, RFC 6749 §4.1.2.1). The codes below
// refine that single wire code for logs, tests and the threat model; they
// MUST NOT be sent to the Verifier in place of "invalid_request".
type Code string

// Error codes. Each names one kind of violation and never changes meaning.
const (
	// CodeMalformedJSON: the input is not one JSON value (syntax error,
	// invalid UTF-8, or trailing data after the value).
	CodeMalformedJSON Code = "malformed_json"
	// CodeDuplicateMember: a JSON object has the same member name twice,
	// which two parsers could read differently.
	CodeDuplicateMember Code = "duplicate_member"
	// CodeTooLarge: the input is longer than [MaxQueryBytes].
	CodeTooLarge Code = "too_large"
	// CodeTooDeep: JSON nesting deeper than [MaxDepth].
	CodeTooDeep Code = "too_deep"
	// CodeLimitExceeded: an array or string is longer than this package's
	// limit for it (the Max* constants).
	CodeLimitExceeded Code = "limit_exceeded"
	// CodeMissingParameter: a REQUIRED member is absent.
	CodeMissingParameter Code = "missing_parameter"
	// CodeInvalidType: a member has the wrong JSON type (null included).
	CodeInvalidType Code = "invalid_type"
	// CodeEmptyArray: an array that the spec requires to be non-empty is
	// empty.
	CodeEmptyArray Code = "empty_array"
	// CodeEmptyString: a string that must identify something (format, a
	// type, a trusted authority) is empty.
	CodeEmptyString Code = "empty_string"
	// CodeInvalidID: a Credential Query or Claims Query id is not a
	// non-empty string of alphanumeric, "_" or "-" characters.
	CodeInvalidID Code = "invalid_id"
	// CodeDuplicateID: two Credential Queries, or two Claims Queries of one
	// Credential Query, have the same id.
	CodeDuplicateID Code = "duplicate_id"
	// CodeDuplicateReference: one credential_sets option or one claim_sets
	// entry names the same id twice.
	CodeDuplicateReference Code = "duplicate_reference"
	// CodeUnknownCredentialID: a credential_sets option names an id that no
	// Credential Query has.
	CodeUnknownCredentialID Code = "unknown_credential_id"
	// CodeUnknownClaimID: a claim_sets entry names an id that no Claims
	// Query of the same Credential Query has.
	CodeUnknownClaimID Code = "unknown_claim_id"
	// CodeClaimSetsWithoutClaims: claim_sets is present but claims is not.
	CodeClaimSetsWithoutClaims Code = "claim_sets_without_claims"
	// CodeMissingClaimID: claim_sets is present but a Claims Query has no id.
	CodeMissingClaimID Code = "missing_claim_id"
	// CodeInvalidPath: a claims path pointer element is not a string, null
	// or non-negative integer, or an mdoc path is not two strings.
	CodeInvalidPath Code = "invalid_path"
	// CodeInvalidValue: an element of values is not a string, an integer or
	// a boolean.
	CodeInvalidValue Code = "invalid_value"
)

// ErrInvalidQuery matches every error returned by [Parse],
// [Query.Validate] and [Query.Match] for an invalid query:
// errors.Is(err, ErrInvalidQuery). The Wallet answers such a request with
// the OAuth error "invalid_request".
var ErrInvalidQuery = errors.New("dcql: invalid query")

// Error is a rejected DCQL query: the shared error (Code, Description,
// Err) and Pointer, the RFC 6901 JSON Pointer of the offending member, for
// example "/credentials/0/claims/2/path/1" (empty for the whole document).
// Description is safe to show to the Verifier's developers; it never
// contains credential data. Its message is
// "dcql: code at pointer: description: cause".
type Error struct {
	base
	Pointer string
}

// base is the fault.Error that an [Error] extends.
type base = fault.Error[Code, kind]

// kind is the fault.Kind of this package's errors.
type kind struct{}

// Prefix is "dcql".
func (kind) Prefix() string { return "dcql" }

func (e *Error) Error() string {
	b := e.base
	if e.Pointer != "" {
		b.Code += Code(" at " + e.Pointer)
	}
	return b.Error()
}

// Is reports whether target is [ErrInvalidQuery].
func (e *Error) Is(target error) bool { return target == ErrInvalidQuery }

func newError(code Code, ptr, description string, cause error) *Error {
	return &Error{base: base{Code: code, Description: description, Err: cause}, Pointer: ptr}
}

func errorf(code Code, ptr string, format string, args ...any) *Error {
	return newError(code, ptr, fmt.Sprintf(format, args...), nil)
}

// ptr appends reference tokens to a JSON Pointer (RFC 6901 §3: "~" is
// written "~0" and "/" is written "~1").
func ptr(base string, tokens ...any) string {
	var b strings.Builder
	b.WriteString(base)
	for _, t := range tokens {
		b.WriteByte('/')
		switch t := t.(type) {
		case string:
			b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(t))
		case int:
			fmt.Fprintf(&b, "%d", t)
		}
	}
	return b.String()
}
