// Package vcjose issues and verifies W3C Verifiable Credentials Data Model
// 2.0 credentials secured with JOSE as specified by [VC-JOSE-COSE] (W3C
// Recommendation, 2025-05-15): a compact JWS whose header typ is "vc+jwt"
// and whose payload is the credential itself (there is no "vc" wrapper
// claim, unlike the older VC-JWT of VCDM 1.1).
//
// Tong issues SD-JWT VCs (package credential) to citizens; this package
// serves relying parties that speak the W3C format, and carries
// revocation as a [statuslist.BitstringStatusListEntry].
//
// # Checks
//
// [Verify] runs: size (1 MiB) and JOSE syntax; typ "vc+jwt" (missing and
// wrong typ have their own codes); alg ES256 or EdDSA; the issuer's key
// from a [KeyResolver] ([DIDKeys] for DID issuers); the signature; the
// data model (@context first value, type, issuer, credentialSubject);
// validFrom and validUntil with clock skew. Every refusal is an [*Error]
// with a stable [Code], and [Result.Checks] lists each step's outcome.
//
// [VC-JOSE-COSE]: https://www.w3.org/TR/vc-jose-cose/
package vcjose

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tongid/tong/credential/statuslist"
	"github.com/tongid/tong/did"
	"github.com/tongid/tong/internal/fault"
	"github.com/tongid/tong/internal/jose"
)

// Identifiers from the specs.
const (
	// Typ is the JOSE header typ of a VC secured with JOSE.
	// Spec: VC-JOSE-COSE §3.1.1: "typ ... SHOULD be vc+jwt".
	Typ = "vc+jwt"
	// ContextV2 must be the first @context value.
	// Spec: VCDM 2.0 §4.3: "The value of the @context property MUST be an
	// ordered set where the first item is a URL with the value
	// https://www.w3.org/ns/credentials/v2".
	ContextV2 = "https://www.w3.org/ns/credentials/v2"
	// TypeVC must be among the credential's types.
	TypeVC = "VerifiableCredential"
)

// Limits.
const (
	MaxSize  = 1 << 20
	MaxDepth = 32
	// DefaultSkew is the tolerated clock difference.
	DefaultSkew = 60 * time.Second
)

// Code is a stable reason a credential was refused.
type Code string

// Codes.
const (
	CodeMalformed        Code = "malformed"
	CodeTooLarge         Code = "too_large"
	CodeTooDeep          Code = "too_deep"
	CodeTypMissing       Code = "typ_missing"
	CodeTypWrong         Code = "typ_wrong"
	CodeAlg              Code = "unsupported_alg"
	CodeIssuerUnknown    Code = "issuer_key_unresolved"
	CodeInvalidSignature Code = "invalid_signature"
	CodeDataModel        Code = "data_model" // @context, type, issuer or subject wrong
	CodeExpired          Code = "expired"    // past validUntil
	CodeNotYetValid      Code = "not_yet_valid"
)

// Error is a refusal with a stable code. Its message is
// "vcjose: code: description: cause".
type Error = fault.Error[Code, kind]

// kind is the fault.Kind of this package's errors.
type kind struct{}

// Prefix is "vcjose".
func (kind) Prefix() string { return "vcjose" }

// CodeOf returns the code of the first *Error in err's chain, or "".
func CodeOf(err error) Code { return fault.CodeOf[Code, kind](err) }

func errf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// Credential is a VCDM 2.0 credential. Extra members are kept in Extra.
type Credential struct {
	Context           []any                                `json:"@context"`
	ID                string                               `json:"id,omitempty"`
	Type              []string                             `json:"type"`
	Issuer            string                               `json:"-"` // issuer (string or {"id"})
	Name              string                               `json:"name,omitempty"`
	ValidFrom         string                               `json:"validFrom,omitempty"`
	ValidUntil        string                               `json:"validUntil,omitempty"`
	CredentialSubject map[string]any                       `json:"credentialSubject"`
	CredentialStatus  *statuslist.BitstringStatusListEntry `json:"credentialStatus,omitempty"`
	Extra             map[string]any                       `json:"-"`
}

// MarshalJSON writes the credential with issuer as a string.
func (c Credential) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(c.Extra)+8)
	for k, v := range c.Extra {
		m[k] = v
	}
	type plain Credential
	raw, err := json.Marshal(plain(c))
	if err != nil {
		return nil, err
	}
	var base map[string]any
	if err := json.Unmarshal(raw, &base); err != nil {
		return nil, err
	}
	for k, v := range base {
		m[k] = v
	}
	m["issuer"] = c.Issuer
	return json.Marshal(m)
}

// Issue signs c as a vc+jwt with signer; kid names the key (a DID URL when
// the issuer is a DID).
func Issue(signer crypto.Signer, kid string, c Credential) (string, error) {
	if len(c.Context) == 0 {
		c.Context = []any{ContextV2}
	}
	if len(c.Type) == 0 {
		c.Type = []string{TypeVC}
	}
	if err := checkModel(c.Context, c.Type, c.Issuer, c.CredentialSubject); err != nil {
		return "", err
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	alg, err := jose.AlgFor(signer.Public())
	if err != nil {
		return "", err
	}
	h := map[string]any{"alg": alg, "typ": Typ}
	if kid != "" {
		h["kid"] = kid
	}
	return jose.Sign(signer, h, payload)
}

// KeyResolver finds the issuer's key for a credential.
type KeyResolver interface {
	ResolveKey(ctx context.Context, issuer, kid string) (crypto.PublicKey, error)
}

// KeyFunc adapts a function to KeyResolver.
type KeyFunc func(ctx context.Context, issuer, kid string) (crypto.PublicKey, error)

// ResolveKey calls f.
func (f KeyFunc) ResolveKey(ctx context.Context, issuer, kid string) (crypto.PublicKey, error) {
	return f(ctx, issuer, kid)
}

// DIDKeys resolves a DID issuer's key: kid must be a DID URL into the
// issuer's document (or a relative "#fragment"), authorized for
// assertionMethod.
type DIDKeys struct{ Resolver did.Resolver }

// ResolveKey resolves kid in issuer's DID document.
func (d DIDKeys) ResolveKey(ctx context.Context, issuer, kid string) (crypto.PublicKey, error) {
	if strings.HasPrefix(kid, "#") {
		kid = issuer + kid
	}
	if !strings.HasPrefix(issuer, "did:") || !strings.HasPrefix(kid, issuer+"#") {
		return nil, errf(CodeIssuerUnknown, "kid %q is not a key of issuer %q", kid, issuer)
	}
	return did.ResolveKey(ctx, d.Resolver, kid, did.AssertionMethod)
}

// Check is one verification step's outcome.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	Code Code   `json:"code,omitempty"`
}

// Result is a verified credential.
type Result struct {
	Header     jose.Header
	Credential map[string]any // the payload, decoded
	Issuer     string
	ValidFrom  time.Time
	ValidUntil time.Time
	Status     *statuslist.BitstringStatusListEntry
	Checks     []Check
}

func (r *Result) pass(n string) { r.Checks = append(r.Checks, Check{Name: n, OK: true}) }
func (r *Result) fail(n string, e *Error) error {
	r.Checks = append(r.Checks, Check{Name: n, Code: e.Code})
	return e
}

// Options tune Verify.
type Options struct {
	Now  func() time.Time // nil means time.Now
	Skew time.Duration    // zero means DefaultSkew
}

// Verify checks a vc+jwt. On failure the Result holds the checks run.
func Verify(ctx context.Context, token string, keys KeyResolver, opts Options) (*Result, error) {
	r := &Result{}
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	skew := opts.Skew
	if skew == 0 {
		skew = DefaultSkew
	}
	j, err := jose.Parse(token, MaxSize)
	if err != nil {
		code := CodeMalformed
		switch jose.CodeOf(err) {
		case jose.CodeTooLarge:
			code = CodeTooLarge
		case jose.CodeAlgNone, jose.CodeMACAlg, jose.CodeUnsupportedAlg, jose.CodeUnknownCrit:
			code = CodeAlg
		}
		return r, r.fail("syntax", &Error{Code: code, Description: err.Error(), Err: err})
	}
	r.Header = j.Header
	m, err := jose.ParseJSONObject(j.Payload, MaxDepth)
	if err != nil {
		code := CodeMalformed
		if jose.IsTooDeep(err) {
			code = CodeTooDeep
		}
		return r, r.fail("syntax", &Error{Code: code, Description: err.Error(), Err: err})
	}
	r.Credential = m
	r.pass("syntax")
	switch j.Header.Typ {
	case Typ:
		r.pass("typ")
	case "":
		return r, r.fail("typ", errf(CodeTypMissing, "header has no typ"))
	default:
		return r, r.fail("typ", errf(CodeTypWrong, "typ %q is not %s", j.Header.Typ, Typ))
	}
	r.Issuer = issuerID(m["issuer"])
	if r.Issuer == "" {
		return r, r.fail("issuer_key", errf(CodeDataModel, "issuer is missing"))
	}
	key, err := keys.ResolveKey(ctx, r.Issuer, j.Header.Kid)
	if err != nil {
		return r, r.fail("issuer_key", &Error{Code: CodeIssuerUnknown, Description: err.Error(), Err: err})
	}
	r.pass("issuer_key")
	if err := j.Verify(key); err != nil {
		code := CodeInvalidSignature
		if jose.CodeOf(err) == jose.CodeAlgKeyMismatch {
			code = CodeAlg
		}
		return r, r.fail("signature", &Error{Code: code, Description: err.Error(), Err: err})
	}
	r.pass("signature")
	ctxs, _ := m["@context"].([]any)
	var types []string
	switch t := m["type"].(type) {
	case string:
		types = []string{t}
	case []any:
		for _, e := range t {
			if s, ok := e.(string); ok {
				types = append(types, s)
			}
		}
	}
	subj, _ := m["credentialSubject"].(map[string]any)
	if subj == nil {
		if arr, ok := m["credentialSubject"].([]any); ok && len(arr) > 0 {
			subj, _ = arr[0].(map[string]any)
		}
	}
	if err := checkModel(ctxs, types, r.Issuer, subj); err != nil {
		return r, r.fail("data_model", err)
	}
	if cs, ok := m["credentialStatus"]; ok {
		raw, _ := json.Marshal(cs)
		var e statuslist.BitstringStatusListEntry
		if json.Unmarshal(raw, &e) == nil && e.Type == statuslist.TypeBitstringStatusListEntry {
			if _, err := e.Index(); err != nil {
				return r, r.fail("data_model", &Error{Code: CodeDataModel, Description: err.Error(), Err: err})
			}
			r.Status = &e
		}
	}
	r.pass("data_model")
	parse := func(name string) (time.Time, *Error) {
		s, ok := m[name].(string)
		if !ok {
			if _, present := m[name]; present {
				return time.Time{}, errf(CodeDataModel, "%s is not a string", name)
			}
			return time.Time{}, nil
		}
		// Spec: VCDM 2.0 §4.9: validFrom/validUntil are dateTimeStamp
		// values (RFC 3339 with a time zone).
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}, errf(CodeDataModel, "%s %q is not an XML Schema dateTimeStamp", name, s)
		}
		return t, nil
	}
	var e *Error
	if r.ValidFrom, e = parse("validFrom"); e != nil {
		return r, r.fail("validity", e)
	}
	if r.ValidUntil, e = parse("validUntil"); e != nil {
		return r, r.fail("validity", e)
	}
	if !r.ValidFrom.IsZero() && now.Add(skew).Before(r.ValidFrom) {
		return r, r.fail("validity", errf(CodeNotYetValid, "valid from %s", r.ValidFrom.Format(time.RFC3339)))
	}
	if !r.ValidUntil.IsZero() && !now.Before(r.ValidUntil.Add(skew)) {
		return r, r.fail("validity", errf(CodeExpired, "valid until %s", r.ValidUntil.Format(time.RFC3339)))
	}
	r.pass("validity")
	return r, nil
}

func issuerID(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		s, _ := x["id"].(string)
		return s
	}
	return ""
}

func checkModel(ctxs []any, types []string, issuer string, subject map[string]any) *Error {
	if len(ctxs) == 0 || ctxs[0] != ContextV2 {
		return errf(CodeDataModel, "the first @context must be %s", ContextV2)
	}
	hasVC := false
	for _, t := range types {
		hasVC = hasVC || t == TypeVC
	}
	if !hasVC {
		return errf(CodeDataModel, "type must include %s", TypeVC)
	}
	if issuer == "" || !strings.Contains(issuer, ":") {
		return errf(CodeDataModel, "issuer must be a URL")
	}
	if len(subject) == 0 {
		return errf(CodeDataModel, "credentialSubject is missing or empty")
	}
	return nil
}
