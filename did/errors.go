package did

import (
	"errors"

	"github.com/tongid/tong/internal/fault"
)

// Code is a stable, machine-readable error code. The values are the error
// names of [DID Resolution] §Errors, copied exactly; [Code.URI] gives the
// RFC 9457 problem type that the spec assigns to each.
//
// The domain never knows HTTP statuses: the HTTP binding keeps the one
// Code→status table (DID Resolution §HTTP(S) Binding).
type Code string

// Error codes. Spec: DID Resolution §Errors: "Where the values listed in the
// section below do not define a URL, the values MUST be prepended with the
// URL https://www.w3.org/ns/did#."
const (
	// CodeInvalidDID: "An invalid DID was detected during DID Resolution."
	CodeInvalidDID Code = "INVALID_DID"
	// CodeInvalidDIDDocument: "The DID document was malformed."
	CodeInvalidDIDDocument Code = "INVALID_DID_DOCUMENT"
	// CodeNotFound: "The DID resolver was unable to find the DID document
	// resulting from this resolution request."
	CodeNotFound Code = "NOT_FOUND"
	// CodeRepresentationNotSupported: the representation requested via the
	// accept option is not supported.
	CodeRepresentationNotSupported Code = "REPRESENTATION_NOT_SUPPORTED"
	// CodeInvalidDIDURL: "An invalid DID URL was detected during DID URL
	// dereferencing."
	CodeInvalidDIDURL Code = "INVALID_DID_URL"
	// CodeMethodNotSupported: "The DID method of the DID is not supported by
	// the DID resolver." This package also uses it for a did:key or did:jwk
	// key type that it does not implement (see [ErrUnsupportedKeyType]).
	CodeMethodNotSupported Code = "METHOD_NOT_SUPPORTED"
	// CodeInvalidOptions: "One or more of the options provided for DID
	// Resolution or DID URL dereferencing are invalid."
	CodeInvalidOptions Code = "INVALID_OPTIONS"
	// CodeInternalError: "An unexpected error occured during DID Resolution
	// or DID URL dereferencing." Network failures of did:web land here.
	CodeInternalError Code = "INTERNAL_ERROR"
	// CodeFeatureNotSupported: "The DID resolver does not support the
	// requested feature."
	CodeFeatureNotSupported Code = "FEATURE_NOT_SUPPORTED"
	// CodeInvalidVerificationMethod: the DID URL does not dereference to a
	// conforming verification method (DID Resolution §Dereferencing the
	// Fragment, from [CID] §Processing Errors).
	CodeInvalidVerificationMethod Code = "INVALID_VERIFICATION_METHOD"
	// CodeInvalidRelationshipForVerificationMethod: the verification method
	// is not associated with the requested verification relationship (DID
	// Resolution §Dereferencing the Fragment).
	CodeInvalidRelationshipForVerificationMethod Code = "INVALID_RELATIONSHIP_FOR_VERIFICATION_METHOD"

	// CodeDeactivated reports a deactivated DID. It is NOT an error type of
	// DID Resolution, which signals deactivation with didDocumentMetadata
	// "deactivated": true (and HTTP status 410); it exists so that a
	// deactivated DID fails closed in Go code (see [Resolver]).
	CodeDeactivated Code = "DEACTIVATED"
)

// problemTypeBase is the prefix of every DID Resolution problem type URI.
const problemTypeBase = "https://www.w3.org/ns/did#"

// URI returns the RFC 9457 problem type of c, for example
// https://www.w3.org/ns/did#NOT_FOUND.
func (c Code) URI() string { return problemTypeBase + string(c) }

// Error is a DID syntax, document or resolution failure with a stable Code.
// Description is safe to show to a client; Err is the cause, kept for logs
// and errors.Is. Its message is "did: CODE: description: cause".
type Error = fault.Error[Code, kind]

// kind is the fault.Kind of this package's errors.
type kind struct{}

// Prefix is "did".
func (kind) Prefix() string { return "did" }

// ProblemOf returns the first *Error in err's chain as the RFC 9457 error
// object of didResolutionMetadata, or nil if there is none. Err is left
// out: it may hold details that are not for clients.
func ProblemOf(err error) *Problem {
	var e *Error
	if !errors.As(err, &e) {
		return nil
	}
	return &Problem{Type: e.Code.URI(), Title: string(e.Code), Detail: e.Description}
}

// CodeOf returns the Code of the first *Error in err's chain, or "" if there
// is none.
func CodeOf(err error) Code { return fault.CodeOf[Code, kind](err) }

func errorf(code Code, detail string, cause error) *Error {
	return &Error{Code: code, Description: detail, Err: cause}
}

// Sentinels for sub-cases that callers branch on. They are always wrapped
// in an *Error that carries the resolution Code.
var (
	// ErrUnsupportedKeyType: the key is of a type this package does not
	// implement (only Ed25519 and P-256 are). did:key calls this
	// "unsupportedPublicKeyType"; it comes with CodeMethodNotSupported from
	// resolvers and with CodeInvalidVerificationMethod from [PublicKey].
	ErrUnsupportedKeyType = errors.New("did: unsupported public key type")
	// ErrInvalidPublicKey: the key bytes are not a valid key of their type
	// (did:key "invalidPublicKey" and "invalidPublicKeyLength").
	ErrInvalidPublicKey = errors.New("did: invalid public key")
	// ErrPrivateKey: a JWK holds private key members. "A JWK for a private
	// key must never be used and must be rejected by all implementations
	// when encountered" (did:jwk §Security).
	ErrPrivateKey = errors.New("did: JWK contains private key material")
	// ErrIPAddress: a did:web host is an IP address. "it MUST NOT include
	// IP addresses" (did:web §Method-specific identifier).
	ErrIPAddress = errors.New("did: did:web host is an IP address")
)
