package issuer

import (
	"fmt"

	"github.com/tongid/tong/internal/fault"
)

// Code is a stable error code. The protocol codes are the ones OpenID4VCI
// 1.0 (§6.3, §8.3.1.2, §9.3, §11.3), RFC 6749, RFC 6750 and RFC 9449 name;
// the rest belong to the staff API.
type Code string

// Token endpoint (OpenID4VCI §6.3, RFC 6749 §5.2).
const (
	CodeInvalidRequest       Code = "invalid_request"
	CodeInvalidGrant         Code = "invalid_grant"
	CodeUnsupportedGrantType Code = "unsupported_grant_type"
	CodeInvalidDPoPProof     Code = "invalid_dpop_proof"
)

// Credential, deferred and notification endpoints.
const (
	// CodeInvalidToken is RFC 6750's: the access token is missing,
	// expired, spent, or bound to a DPoP key that was not proven.
	CodeInvalidToken                   Code = "invalid_token"
	CodeInvalidCredentialRequest       Code = "invalid_credential_request"
	CodeUnknownCredentialConfiguration Code = "unknown_credential_configuration"
	CodeUnknownCredentialIdentifier    Code = "unknown_credential_identifier"
	CodeInvalidProof                   Code = "invalid_proof"
	CodeInvalidNonce                   Code = "invalid_nonce"
	CodeCredentialRequestDenied        Code = "credential_request_denied"
	CodeInvalidTransactionID           Code = "invalid_transaction_id"
	CodeInvalidNotificationID          Code = "invalid_notification_id"
	CodeInvalidNotificationRequest     Code = "invalid_notification_request"
)

// Staff API.
const (
	CodeUnauthorized  Code = "unauthorized"
	CodeNotFound      Code = "not_found"
	CodeInvalidClaims Code = "invalid_claims"
	CodeInvalidType   Code = "invalid_credential_type"
	CodeUnknownType   Code = "unknown_credential_type"
	CodeConflict      Code = "conflict"
	// CodeVCTTaken: the vct is another agency's (it defined it first, or
	// the vct sits under its issuer URL).
	CodeVCTTaken Code = "vct_taken"
)

// Error is an issuer error with a stable Code. Description is safe to show
// to the caller: it never holds claim values or secrets. Err is the cause.
// Its message is "code: description: cause".
type Error = fault.Error[Code, fault.Bare]

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// CodeOf returns the Code of the first *Error in err's chain, or "".
func CodeOf(err error) Code { return fault.CodeOf[Code, fault.Bare](err) }
