package credential

import (
	"fmt"

	"github.com/tongid/tong/internal/fault"
	"github.com/tongid/tong/internal/jose"
)

// Code is a stable, machine-readable reason a credential or presentation
// was refused. Codes never change meaning; counters and logs key on them.
type Code string

// Codes for malformed input.
const (
	CodeMalformed Code = "malformed" // not an SD-JWT / JWT at all
	CodeTooLarge  Code = "too_large" // over MaxTokenSize
	CodeTooDeep   Code = "too_deep"  // JSON nested deeper than MaxDepth
	CodeBadJSON   Code = "bad_json"  // payload or disclosure is not strict JSON
	CodeHashAlg   Code = "unsupported_sd_alg"
)

// Codes for the JOSE layer.
const (
	CodeAlgNone          Code = "alg_none"
	CodeMACAlg           Code = "mac_alg_forbidden"
	CodeUnsupportedAlg   Code = "unsupported_alg"
	CodeAlgKeyMismatch   Code = "alg_key_mismatch"
	CodeUnknownCrit      Code = "unknown_crit"
	CodeInvalidSignature Code = "invalid_signature"
	CodeInvalidKey       Code = "invalid_key"
)

// Codes for the SD-JWT VC header and claims.
const (
	CodeTypMissing     Code = "typ_missing"
	CodeTypLegacy      Code = "typ_legacy_vc_sd_jwt" // the pre-draft-06 "vc+sd-jwt"
	CodeTypWrong       Code = "typ_wrong"
	CodeClaimMissing   Code = "claim_missing" // iss or vct absent
	CodeClaimInvalid   Code = "claim_invalid" // a registered claim of the wrong type
	CodeExpired        Code = "expired"
	CodeNotYetValid    Code = "not_yet_valid"
	CodeIssuedInFuture Code = "issued_in_future"
	CodeIssuerUnknown  Code = "issuer_key_unresolved"
	CodeIssuerRefused  Code = "issuer_key_refused" // resolved, but a policy check refused it
)

// Codes for selective disclosure (RFC 9901 §7.1).
const (
	CodeUnreferencedDisclosure Code = "disclosure_unreferenced"
	CodeDuplicateDisclosure    Code = "disclosure_duplicate"
	CodeDuplicateDigest        Code = "digest_duplicate"
	CodeReservedClaimName      Code = "reserved_claim_name"     // _sd or ... as a claim name
	CodeNeverDisclosable       Code = "claim_never_disclosable" // iss, cnf, vct, ... in a disclosure
	CodeClaimExists            Code = "claim_exists"            // a disclosure overwrites a plain claim
	CodeDisclosureShape        Code = "disclosure_wrong_shape"  // array-element disclosure in an object, or vice versa
	CodeInvalidPath            Code = "invalid_path"            // a claim path that selects nothing
)

// Codes for key binding (RFC 9901 §7.3).
const (
	CodeKBMissing   Code = "kb_missing"
	CodeKBTyp       Code = "kb_typ"
	CodeKBSignature Code = "kb_invalid_signature"
	CodeKBNonce     Code = "kb_nonce_mismatch"
	CodeKBAudience  Code = "kb_aud_mismatch"
	CodeKBSDHash    Code = "kb_sd_hash_mismatch"
	CodeKBStale     Code = "kb_iat_stale"
	CodeKBFuture    Code = "kb_iat_future"
	CodeKBNoCnf     Code = "kb_no_cnf" // a KB-JWT, but the credential names no holder key
	CodeKBClaims    Code = "kb_claims_invalid"
)

// Error is a refusal with a stable code. Use [CodeOf] or errors.As. Its
// message is "credential: code: description: cause".
type Error = fault.Error[Code, kind]

// kind is the fault.Kind of this package's errors.
type kind struct{}

// Prefix is "credential".
func (kind) Prefix() string { return "credential" }

// CodeOf returns the code of the first *Error in err's chain, or "".
func CodeOf(err error) Code { return fault.CodeOf[Code, kind](err) }

func errf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// fromJOSE maps an internal/jose error to a credential code, keeping the
// cause.
func fromJOSE(err error, kb bool) *Error {
	var code Code
	switch jose.CodeOf(err) {
	case jose.CodeAlgNone:
		code = CodeAlgNone
	case jose.CodeMACAlg:
		code = CodeMACAlg
	case jose.CodeUnsupportedAlg:
		code = CodeUnsupportedAlg
	case jose.CodeAlgKeyMismatch:
		code = CodeAlgKeyMismatch
	case jose.CodeUnknownCrit:
		code = CodeUnknownCrit
	case jose.CodeInvalidSignature:
		code = CodeInvalidSignature
		if kb {
			code = CodeKBSignature
		}
	case jose.CodeTooLarge:
		code = CodeTooLarge
	case jose.CodeInvalidKey:
		code = CodeInvalidKey
	default:
		code = CodeMalformed
	}
	return &Error{Code: code, Description: err.Error(), Err: err}
}
