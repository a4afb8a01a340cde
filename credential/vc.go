package credential

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tongid/tong/internal/jose"
)

// neverDisclosable are the claims an SD-JWT VC must keep in the clear.
// Spec: draft-ietf-oauth-sd-jwt-vc-18 §3.2.2.2: iss, nbf, exp, cnf, vct,
// vct#integrity and status "MUST NOT be selectively disclosed" (sub and
// iat may be).
var neverDisclosable = map[string]bool{
	"iss": true, "nbf": true, "exp": true, "cnf": true, "vct": true,
	"vct#integrity": true, "status": true, "aka_vcts": true,
}

// StatusRef points at a credential's entry in a Token Status List
// (draft-ietf-oauth-status-list-20 §6.2: status.status_list{idx, uri}).
type StatusRef struct {
	Index int    `json:"idx"`
	URI   string `json:"uri"`
}

// VC is an SD-JWT VC to issue.
type VC struct {
	Issuer string // iss: the issuer's https identifier, or a DID
	VCT    string // vct: the credential type
	// KeyID is the header kid: a key in the issuer's JWKS, or a DID URL.
	KeyID string
	// X5C, if set, is the issuer's certificate chain for the x5c header
	// (HAIP 1.0: leaf first, standard base64 DER, without the trust
	// anchor), beside kid, so that a verifier can use either.
	X5C       []string
	IssuedAt  time.Time // iat; zero means now
	NotBefore time.Time // nbf; optional
	Expiry    time.Time // exp; optional
	Subject   string    // sub; optional
	// Holder is the key the credential is bound to (cnf.jwk); nil issues
	// an unbound credential.
	Holder crypto.PublicKey
	Status *StatusRef
	// Claims are the subject's claims. They may not use registered names.
	Claims map[string]any
	// Disclosable are the paths into Claims that the holder may withhold.
	Disclosable []Path
}

// IssueVC signs vc as an SD-JWT VC (typ dc+sd-jwt) with signer.
//
// The registered claims and the header are written straight as JSON, as
// json.Marshal would write them, rather than copied into a claims map.
func IssueVC(signer crypto.Signer, vc VC, opts IssueOptions) (string, error) {
	if vc.Issuer == "" || vc.VCT == "" {
		return "", errf(CodeClaimMissing, "iss and vct are required")
	}
	for _, p := range vc.Disclosable {
		if len(p) > 0 {
			if name, _ := p[0].(string); neverDisclosable[name] {
				return "", errf(CodeNeverDisclosable, "%q must not be selectively disclosable", name)
			}
		}
	}
	alg, err := jose.AlgFor(signer.Public())
	if err != nil {
		return "", fromJOSE(err, false)
	}
	is := acquireIssuer(opts)
	defer is.release()
	if err := is.registerVC(vc); err != nil {
		return "", err
	}
	if err := checkIssuable(vc.Claims, vc.Disclosable, is.registered); err != nil {
		return "", err
	}
	h := appendString(append(is.header[:0], `{"alg":`...), alg)
	if vc.KeyID != "" {
		h = appendString(append(h, `,"kid":`...), vc.KeyID)
	}
	h = appendString(append(h, `,"typ":`...), TypSDJWTVC)
	if len(vc.X5C) > 0 {
		// Spec: draft-ietf-oauth-sd-jwt-vc-18 (Issuer Signature
		// Mechanisms): "When the header of the Issuer-signed JWT contains
		// the x5c header parameter, the recipient uses the public key from
		// the end-entity certificate".
		h = append(h, `,"x5c":[`...)
		for i, c := range vc.X5C {
			if i > 0 {
				h = append(h, ',')
			}
			h = appendString(h, c)
		}
		h = append(h, ']')
	}
	is.header = append(h, '}')
	return is.sign(signer, alg, vc.Claims, vc.Disclosable)
}

// registerVC writes vc's registered claims (iss, vct, iat, nbf, exp, sub,
// status, cnf) into is.registered, refusing any that Claims also sets.
func (is *issuer) registerVC(vc VC) error {
	iat := vc.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	var names [8]string
	var ends [8]int
	n := 0
	buf := is.regJSON[:0]
	done := func(k string) {
		names[n], ends[n] = k, len(buf)
		n++
	}
	buf = appendString(buf, vc.Issuer)
	done("iss")
	buf = appendString(buf, vc.VCT)
	done("vct")
	buf = strconv.AppendInt(buf, iat.Unix(), 10)
	done("iat")
	if !vc.NotBefore.IsZero() {
		buf = strconv.AppendInt(buf, vc.NotBefore.Unix(), 10)
		done("nbf")
	}
	if !vc.Expiry.IsZero() {
		buf = strconv.AppendInt(buf, vc.Expiry.Unix(), 10)
		done("exp")
	}
	if vc.Subject != "" {
		buf = appendString(buf, vc.Subject)
		done("sub")
	}
	if s := vc.Status; s != nil {
		// Spec: draft-ietf-oauth-status-list-20 §6.2: "status":
		// {"status_list": {"idx": ..., "uri": ...}}.
		buf = strconv.AppendInt(append(buf, `{"status_list":{"idx":`...), int64(s.Index), 10)
		buf = append(appendString(append(buf, `,"uri":`...), s.URI), `}}`...)
		done("status")
	}
	if vc.Holder != nil {
		var err error
		if buf, err = jose.AppendPublicJWK(append(buf, `{"jwk":`...), vc.Holder); err != nil {
			return fromJOSE(err, false)
		}
		buf = append(buf, '}')
		done("cnf")
	}
	is.regJSON = buf
	start := 0
	for i, k := range names[:n] {
		if _, ok := vc.Claims[k]; ok {
			return errf(CodeClaimInvalid, "claim %q is set by the issuer, not in Claims", k)
		}
		is.registered = append(is.registered, member{key: k, raw: buf[start:ends[i]]})
		start = ends[i]
	}
	return nil
}

// Check is the outcome of one verification step, for people and logs.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	Code Code   `json:"code,omitempty"`
}

// Names of the checks, in the order Verify runs them.
const (
	CheckSyntax      = "syntax"
	CheckTyp         = "typ"
	CheckIssuerKey   = "issuer_key"
	CheckSignature   = "signature"
	CheckClaims      = "claims"
	CheckValidity    = "validity"
	CheckDisclosures = "disclosures"
	CheckKeyBinding  = "key_binding"
)

// Result is a verified SD-JWT VC presentation.
type Result struct {
	Header    Header
	Issuer    string
	VCT       string
	IssuedAt  time.Time
	NotBefore time.Time // zero when absent
	Expiry    time.Time // zero when absent
	Status    *StatusRef
	// HolderKey is cnf.jwk, or nil for an unbound credential.
	HolderKey crypto.PublicKey
	// IssuerKey is the key the signature verified with.
	IssuerKey crypto.PublicKey
	// Claims is the processed payload: registered claims plus every
	// disclosed claim, with _sd, _sd_alg and decoys removed.
	Claims map[string]any
	// Disclosed lists the disclosures presented, each with its Path.
	Disclosed []*Disclosure
	// KeyBinding is set when a KB-JWT was presented and verified.
	KeyBinding *KBClaims
	// Checks lists each step run, in order, with its outcome. When Verify
	// fails, the last entry is the failed step.
	Checks []Check

	checks [8]Check // Checks' first backing array, allocated with r
}

func (r *Result) pass(name string) { r.Checks = append(r.Checks, Check{Name: name, OK: true}) }

func (r *Result) fail(name string, err *Error) error {
	r.Checks = append(r.Checks, Check{Name: name, Code: err.Code})
	return err
}

// Verifier verifies SD-JWT VCs (draft-ietf-oauth-sd-jwt-vc-18) and their
// presentations.
type Verifier struct {
	// Keys resolves the issuer's key; required.
	Keys IssuerKeyResolver
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Skew is the allowed clock skew for exp, nbf, iat; zero means
	// DefaultSkew.
	Skew time.Duration
}

// DefaultSkew is the clock skew tolerated between issuer, holder and
// verifier.
const DefaultSkew = 60 * time.Second

// VerifyOptions are per-call expectations.
type VerifyOptions struct {
	// KeyBinding, when set, requires a KB-JWT that matches it. When nil, a
	// KB-JWT that is present is still checked (signature, typ, sd_hash),
	// but nonce and aud are not compared, and its absence is accepted: the
	// holder's wallet uses this to check a freshly issued credential.
	KeyBinding *KBPolicy
}

// Verify checks an SD-JWT VC, with or without a KB-JWT, and returns its
// disclosed claims. The steps and their order are those of DESIGN §3:
// syntax and size, typ, alg, issuer key, signature, registered claims,
// nbf/exp, disclosures, key binding. Status and accreditation are the
// caller's (they need network policy). On failure the *Result is still
// returned, with the checks run so far, and err is an *Error.
func (v *Verifier) Verify(ctx context.Context, token string, opts VerifyOptions) (*Result, error) {
	r := &Result{}
	r.Checks = r.checks[:0]
	if v.Keys == nil {
		return r, errors.New("credential: Verifier.Keys is nil")
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	skew := v.Skew
	if skew == 0 {
		skew = DefaultSkew
	}
	t, err := Parse(token)
	if err != nil {
		return r, r.fail(CheckSyntax, asError(err))
	}
	if err := topLevelNeverDisclosable(t); err != nil {
		return r, r.fail(CheckSyntax, err)
	}
	r.pass(CheckSyntax)
	r.Header = t.Header()
	switch r.Header.Typ {
	case TypSDJWTVC:
		r.pass(CheckTyp)
	case "":
		return r, r.fail(CheckTyp, errf(CodeTypMissing, "header has no typ"))
	case TypLegacySDJWTVC:
		return r, r.fail(CheckTyp, errf(CodeTypLegacy, "typ vc+sd-jwt is the pre-standard type; want dc+sd-jwt"))
	default:
		return r, r.fail(CheckTyp, errf(CodeTypWrong, "typ %q is not dc+sd-jwt", r.Header.Typ))
	}
	iss, _ := t.payload["iss"].(string)
	if iss == "" {
		return r, r.fail(CheckIssuerKey, errf(CodeClaimMissing, "iss is missing"))
	}
	r.Issuer = iss
	key, err := v.Keys.ResolveIssuerKey(ctx, iss, r.Header)
	if err != nil {
		e := asError(err)
		if e.Code == CodeMalformed {
			e = &Error{Code: CodeIssuerUnknown, Description: err.Error(), Err: err}
		}
		return r, r.fail(CheckIssuerKey, e)
	}
	r.IssuerKey = key
	r.pass(CheckIssuerKey)
	// With a KB-JWT, the signing input is the start of what its sd_hash
	// covers: one pass of SHA-256 serves both.
	presented := t.presented()
	var presentedSHA256 *[32]byte
	if t.KBJWT != "" && r.Header.Alg == jose.ES256 && strings.HasPrefix(presented, t.jws.SigningInput) {
		input, whole := jose.SHA256Prefix(t.jws.SigningInput, presented[len(t.jws.SigningInput):])
		presentedSHA256 = &whole
		err = t.jws.VerifyHashed(key, input)
	} else {
		err = t.jws.Verify(key)
	}
	if err != nil {
		return r, r.fail(CheckSignature, fromJOSE(err, false))
	}
	r.pass(CheckSignature)
	if err := r.registered(t.payload); err != nil {
		return r, r.fail(CheckClaims, err)
	}
	r.pass(CheckClaims)
	if !r.Expiry.IsZero() && !now.Before(r.Expiry.Add(skew)) {
		return r, r.fail(CheckValidity, errf(CodeExpired, "expired at %s", r.Expiry.UTC().Format(time.RFC3339)))
	}
	if !r.NotBefore.IsZero() && now.Add(skew).Before(r.NotBefore) {
		return r, r.fail(CheckValidity, errf(CodeNotYetValid, "not valid before %s", r.NotBefore.UTC().Format(time.RFC3339)))
	}
	if !r.IssuedAt.IsZero() && now.Add(skew).Before(r.IssuedAt) {
		return r, r.fail(CheckValidity, errf(CodeIssuedInFuture, "issued in the future"))
	}
	r.pass(CheckValidity)
	claims, err := t.process(true) // t is this call's own parse
	if err != nil {
		return r, r.fail(CheckDisclosures, asError(err))
	}
	for _, d := range t.Disclosures {
		// Spec: draft-ietf-oauth-sd-jwt-vc-18 §3.2.2.2 (see neverDisclosable).
		if !d.array && len(d.Path) == 1 && neverDisclosable[d.Name] {
			return r, r.fail(CheckDisclosures, errf(CodeNeverDisclosable, "%q was made selectively disclosable", d.Name))
		}
	}
	r.Claims, r.Disclosed = claims, t.Disclosures
	r.pass(CheckDisclosures)
	if t.KBJWT == "" {
		if opts.KeyBinding != nil {
			return r, r.fail(CheckKeyBinding, errf(CodeKBMissing, "the presentation has no KB-JWT"))
		}
		return r, nil
	}
	if r.HolderKey == nil {
		return r, r.fail(CheckKeyBinding, errf(CodeKBNoCnf, "KB-JWT presented but the credential has no cnf key"))
	}
	kb, err := verifyKB(t.KBJWT, presented, presentedSHA256, r.HolderKey, opts.KeyBinding, now, skew)
	r.KeyBinding = kb
	if err != nil {
		return r, r.fail(CheckKeyBinding, asError(err))
	}
	r.pass(CheckKeyBinding)
	return r, nil
}

// topLevelNeverDisclosable refuses a disclosure of iss, vct, cnf, ... that
// the top-level _sd references. It runs before the issuer key is looked
// up, because a credential with a disclosable iss has no iss to look up.
// Spec: draft-ietf-oauth-sd-jwt-vc-18 §3.2.2.2 (see neverDisclosable).
func topLevelNeverDisclosable(t *SDJWT) *Error {
	sd, _ := t.payload["_sd"].([]any)
	if len(sd) == 0 {
		return nil
	}
	for _, d := range t.Disclosures {
		if d.array || !neverDisclosable[d.Name] {
			continue
		}
		for _, dg := range sd {
			if dg == d.digest {
				return errf(CodeNeverDisclosable, "%q was made selectively disclosable", d.Name)
			}
		}
	}
	return nil
}

func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeMalformed, Description: err.Error(), Err: err}
}

// registered reads the registered claims from the signed payload (they
// are never disclosures) and checks their types.
func (r *Result) registered(p map[string]any) *Error {
	vct, ok := p["vct"].(string)
	if !ok || vct == "" {
		return errf(CodeClaimMissing, "vct is missing")
	}
	r.VCT = vct
	var err *Error
	num := func(name string) time.Time {
		v, ok := p[name]
		if !ok || err != nil {
			return time.Time{}
		}
		n, ok := v.(json.Number)
		f, ferr := n.Float64()
		if !ok || ferr != nil || f < 0 || f > math.MaxInt32*4 || math.IsNaN(f) {
			err = errf(CodeClaimInvalid, "%s is not a NumericDate", name)
			return time.Time{}
		}
		return time.Unix(int64(f), 0)
	}
	r.IssuedAt, r.NotBefore, r.Expiry = num("iat"), num("nbf"), num("exp")
	if err != nil {
		return err
	}
	if st, ok := p["status"]; ok {
		ref, e := statusRef(st)
		if e != nil {
			return e
		}
		r.Status = ref
	}
	if cnf, ok := p["cnf"]; ok {
		m, _ := cnf.(map[string]any)
		jwk, ok := m["jwk"].(map[string]any)
		if !ok {
			return errf(CodeClaimInvalid, "cnf has no jwk object")
		}
		key, e := jose.PublicKeyFromMap(jwk)
		if e != nil {
			return &Error{Code: CodeClaimInvalid, Description: "cnf.jwk: " + e.Error(), Err: e}
		}
		r.HolderKey = key
	}
	return nil
}

func statusRef(v any) (*StatusRef, *Error) {
	m, ok := v.(map[string]any)
	sl, ok2 := m["status_list"].(map[string]any)
	if !ok || !ok2 {
		return nil, nil // another status mechanism: not ours to check
	}
	idx, ok := sl["idx"].(json.Number)
	uri, ok2 := sl["uri"].(string)
	i, err := idx.Int64()
	if !ok || !ok2 || err != nil || i < 0 || i > math.MaxInt32 || uri == "" {
		return nil, errf(CodeClaimInvalid, "status.status_list needs a non-negative integer idx and a uri")
	}
	return &StatusRef{Index: int(i), URI: uri}, nil
}

// Inspect decodes an SD-JWT VC without verifying anything, for tools that
// show what a token claims before (or without) trusting it.
func Inspect(token string) (Header, map[string]any, error) {
	t, err := Parse(token)
	if err != nil {
		return Header{}, nil, err
	}
	claims, err := t.Process()
	if err != nil {
		return t.Header(), t.payload, err
	}
	return t.Header(), claims, nil
}
