package verifier

import (
	"fmt"

	"github.com/tongid/tong/internal/fault"
)

// Code is a stable verification or API error code. The counter shows it.
type Code string

// Codes of a rejected presentation, in the order of the checks.
const (
	CodeSessionNotFound      Code = "session_not_found"
	CodeSessionExpired       Code = "session_expired"
	CodeReplay               Code = "replay"
	CodeStateMismatch        Code = "state_mismatch"
	CodeWalletError          Code = "wallet_error"
	CodeMalformedResponse    Code = "malformed_response"
	CodeUnexpectedCredential Code = "unexpected_credential"
	CodeMissingCredential    Code = "missing_credential"
	CodeVCTNotRequested      Code = "vct_not_requested"
	// CodeUntrustedAuthority: the query has trusted_authorities and the
	// credential's x5c chain is missing, unchecked by the trust list, or
	// certified by none of the authorities it names.
	CodeUntrustedAuthority  Code = "untrusted_authority"
	CodeIssuerUnknown       Code = "issuer_unknown"
	CodeIssuerNotAccredited Code = "issuer_not_accredited"
	CodeCredentialRevoked   Code = "credential_revoked"
	CodeCredentialSuspended Code = "credential_suspended"
	CodeStatusUnavailable   Code = "status_unavailable"
	CodeClaimMissing        Code = "claim_missing"
	CodeClaimValue          Code = "claim_value_mismatch"
	CodeTransactionData     Code = "transaction_data_mismatch"
	CodeRegistryUnavailable Code = "registry_unavailable"
)

// Codes of the counter API.
const (
	CodeUnauthorized   Code = "unauthorized"
	CodeNotFound       Code = "not_found"
	CodeInvalidRequest Code = "invalid_request"
	CodeUnknownPurpose Code = "unknown_purpose"
	CodeInvalidPurpose Code = "invalid_purpose"
	CodeConflict       Code = "conflict"
)

// Error is a verifier error with a stable code. Its message is
// "code: description: cause".
type Error = fault.Error[Code, fault.Bare]

func errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// CodeOf returns the Code of the first *Error in err's chain, or "".
func CodeOf(err error) Code { return fault.CodeOf[Code, fault.Bare](err) }
