package verifier

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/credential/dcql"
	"github.com/tongid/tong/credential/statuslist"
	"github.com/tongid/tong/credential/vpwire"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/ids"
	"github.com/tongid/tong/internal/jose"
)

// Result is the outcome of a session: a verdict, a verdict per check, the
// requested claims (and nothing else), and how stale the cached trust data
// was.
type Result struct {
	Verdict string `json:"verdict"` // accepted or rejected
	// Code is the stable code of the first failed check ("" if accepted).
	Code        Code        `json:"code,omitempty"`
	Description string      `json:"description,omitempty"`
	Checks      []Check     `json:"checks"`
	Credentials []Presented `json:"credentials,omitempty"`
	At          time.Time   `json:"at"`
	// Staleness is the oldest cached data used past its fresh period
	// (0 when everything was fresh), in seconds.
	StalenessSeconds int64 `json:"staleness_seconds"`
	// WalletError is the error the wallet answered (OpenID4VP 1.0 §8.5,
	// such as access_denied) when Code is wallet_error.
	WalletError string `json:"wallet_error,omitempty"`
	// ResponseCodeSHA256 is, for an accepted same-device session, the
	// SHA-256 (base64url) of the response_code given to the wallet in its
	// redirect_uri; the code itself is not kept.
	ResponseCodeSHA256 string `json:"response_code_sha256,omitempty"`
}

// ResponseCodeMatches tells whether code is the response_code the
// response endpoint gave the wallet of this accepted same-device session,
// comparing in constant time. The caller that checks it is the one the
// wallet's user agent comes back to (OpenID4VP 1.0 §8.2).
func (r *Result) ResponseCodeMatches(code string) bool {
	if r == nil || r.Verdict != StatusAccepted || r.ResponseCodeSHA256 == "" || code == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(hashB64(code)), []byte(r.ResponseCodeSHA256)) == 1
}

// sameDeviceCounter marks a same-device session that returns to the
// counter's done page (the row keeps the mode in its response_code
// column; a caller's RedirectURI is kept there instead).
const sameDeviceCounter = "same_device"

// Check is one verified step.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	Code Code   `json:"code,omitempty"`
}

// Presented is one verified credential: who issued it and the claims the
// purpose asked for.
type Presented struct {
	QueryID   string         `json:"query_id"`
	VCT       string         `json:"vct"`
	Issuer    string         `json:"issuer"`
	IssuerDID string         `json:"issuer_did"`
	Claims    map[string]any `json:"claims"`
	// TransactionData is what the citizen signed for (pay-fee).
	TransactionData []map[string]any `json:"transaction_data,omitempty"`
}

// ResponseAnswer is what the response endpoint returns to the wallet
// (OpenID4VP 1.0 §8.2: redirect_uri, for a same-device flow).
type ResponseAnswer = vpwire.ResponseAnswer

type sessionRow struct {
	id, counter, purpose, nonce, state, txData, sameDevice, status string
	expires                                                        int64
	// clientID is the client_id the request was made with ("" for
	// sessions made before HAIP: the organisation's DID prefix);
	// responseMode and responseKey are for direct_post.jwt (haip.go).
	clientID, responseMode, responseKey string
}

// HandleResponse verifies a direct_post response for a session. The
// returned error is for the wallet (its Code says why); the counter learns
// the outcome from the stored Result either way. A session is answered
// once: replays are refused. A response whose state is not the session's
// does not belong to it: it gets state_mismatch and the session stays
// pending.
func (s *Service) HandleResponse(ctx context.Context, id string, form url.Values) (*ResponseAnswer, error) {
	var row sessionRow
	if cached, ok := s.pending.Load(id); ok {
		row = *cached.(*sessionRow)
	} else {
		stored, err := s.sessions.responseSession(ctx, id)
		if errors.Is(err, errNoRow) {
			return nil, errorf(CodeSessionNotFound, "no such session")
		}
		if err != nil {
			return nil, err
		}
		row = *stored
	}
	// direct_post.jwt: the response parameters, state among them, are
	// inside the JWE. One that does not open under this session's key is
	// not the wallet's answer: it is refused and the session stays
	// pending, so a hostile post cannot end someone else's verification.
	form, oerr := openResponse(&row, form)
	if oerr != nil {
		return nil, oerr
	}
	// A response that does not carry the session's state does not belong
	// to it: it is refused and the session is left as it was, so a stray
	// or hostile post cannot end someone else's verification.
	// Spec: OpenID Connect Core 1.0 #ImplicitAuthResponse, kept by
	// OpenID4VP: "Clients MUST verify that the state value is equal to
	// the value of state parameter in the Authorization Request."
	if st := form.Get(vpwire.ParamState); subtle.ConstantTimeCompare([]byte(st), []byte(row.state)) != 1 {
		return nil, errorf(CodeStateMismatch, "state does not match the request")
	}
	if row.status != StatusPending {
		return nil, errorf(CodeReplay, "this request was already answered")
	}
	now := s.cfg.Now()
	res := &Result{At: now.UTC(), Checks: []Check{}}
	fail := func(code Code, format string, args ...any) error {
		res.Verdict, res.Code, res.Description = StatusRejected, code, fmt.Sprintf(format, args...)
		res.Checks = append(res.Checks, Check{Name: checkName(code), Code: code})
		return errorf(code, format, args...)
	}
	verr := func() error {
		if now.Unix() >= row.expires {
			return fail(CodeSessionExpired, "the session expired")
		}
		if row.responseMode == ResponseModeDirectPostJWT && form.Get(vpwire.ParamVPToken) != "" {
			res.Checks = append(res.Checks, Check{Name: "response_encryption", OK: true})
		}
		res.Checks = append(res.Checks, Check{Name: "state", OK: true})
		if e := form.Get(vpwire.ParamError); e != "" {
			res.WalletError = e
			return fail(CodeWalletError, "the wallet answered %s", e)
		}
		p, err := s.Purpose(row.purpose)
		if err != nil {
			return fail(CodeMalformedResponse, "unknown purpose")
		}
		return s.verifyToken(ctx, p, &row, form.Get(vpwire.ParamVPToken), res)
	}()
	// Spec: OpenID4VP 1.0 #section-8.2: the response endpoint answers
	// with a redirect_uri that carries a fresh response_code, which only
	// the party the user agent returns to can check.
	var responseCode string
	if verr == nil {
		res.Verdict = StatusAccepted
		if row.sameDevice != "" {
			responseCode = ids.Random(16)
			res.ResponseCodeSHA256 = hashB64(responseCode)
		}
	}
	// Complete the session exactly once, whatever the verdict.
	completed, err := s.sessions.completeSession(ctx, id, res, now)
	if err != nil {
		return nil, err
	}
	s.forgetPending(id)
	if !completed {
		return nil, errorf(CodeReplay, "this request was already answered")
	}
	s.announce(ctx, id)
	if o, err := s.counterOrg(ctx, row.counter); err == nil && o.Webhook != "" {
		go s.webhook(context.WithoutCancel(ctx), o, row.counter, id, res)
	}
	if verr != nil {
		return nil, verr
	}
	ans := &ResponseAnswer{}
	switch {
	case responseCode == "":
	case row.sameDevice == sameDeviceCounter:
		ans.RedirectURI = s.cfg.PublicURL + "/counter/done?session=" + url.QueryEscape(id) + "&response_code=" + url.QueryEscape(responseCode)
	default:
		u, _ := url.Parse(row.sameDevice) // checked by CreateSession
		q := u.Query()
		q.Set("response_code", responseCode)
		u.RawQuery = q.Encode()
		ans.RedirectURI = u.String()
	}
	return ans, nil
}

func checkName(c Code) string {
	switch c {
	case CodeStateMismatch, CodeSessionExpired:
		return "session"
	case CodeIssuerUnknown, CodeIssuerNotAccredited, CodeRegistryUnavailable:
		return "accreditation"
	case CodeCredentialRevoked, CodeCredentialSuspended, CodeStatusUnavailable:
		return "status"
	case CodeTransactionData:
		return "transaction_data"
	case CodeUntrustedAuthority:
		return "trusted_authorities"
	case CodeClaimMissing, CodeClaimValue:
		return "claims"
	}
	return string(c)
}

// verifyToken checks the vp_token against the purpose. The order is not
// the one DESIGN.md §3 lists (there accreditation comes right after the
// signature, and status before the KB-JWT): the checks of the
// presentation itself run first, all in credential.Verify (syntax, typ,
// issuer key through trust's JWT VC Issuer Metadata, signature, claims,
// nbf/exp, disclosures, then the KB-JWT with nonce, aud and sd_hash), and
// only a presentation that passed them, so genuine and bound to this
// session, costs the registry and status lookups: the vct asked for, the
// query's trusted_authorities (the x5c chain, checked here: never on the
// wallet's matching alone), the issuer's accreditation at issuance time, the status list, then the
// requested claims and transaction_data. The first failure is the
// Result's Code.
func (s *Service) verifyToken(ctx context.Context, p *Purpose, row *sessionRow, raw string, res *Result) error {
	fail := func(code Code, format string, args ...any) error {
		res.Verdict, res.Code, res.Description = StatusRejected, code, fmt.Sprintf(format, args...)
		res.Checks = append(res.Checks, Check{Name: checkName(code), Code: code})
		return errorf(code, format, args...)
	}
	if raw == "" {
		return fail(CodeMalformedResponse, "vp_token is missing")
	}
	tok, ok := parseVPToken(raw)
	if !ok {
		return fail(CodeMalformedResponse, "vp_token must be a JSON object of arrays of presentations")
	}
	queries := map[string]*dcql.CredentialQuery{}
	for i := range p.query.Credentials {
		queries[p.query.Credentials[i].ID] = &p.query.Credentials[i]
	}
	for qid := range tok {
		if queries[qid] == nil {
			return fail(CodeUnexpectedCredential, "vp_token answers %q, which was not asked", qid)
		}
	}
	var txData []string
	if row.txData != "" {
		_ = json.Unmarshal([]byte(row.txData), &txData)
	}
	o, err := s.counterOrg(ctx, row.counter)
	if err != nil {
		return fail(CodeMalformedResponse, "unknown counter")
	}
	clientID := PrefixDID + o.DID
	if row.clientID != "" {
		clientID = row.clientID
	}
	var stale time.Duration
	for _, cq := range p.query.Credentials {
		vps := tok[cq.ID]
		if len(vps) == 0 {
			return fail(CodeMissingCredential, "no credential for %q", cq.ID)
		}
		if len(vps) > 1 && !cq.Multiple {
			return fail(CodeMalformedResponse, "more than one credential for %q", cq.ID)
		}
		for _, vp := range vps {
			r, err := s.vf.Verify(ctx, vp, credential.VerifyOptions{KeyBinding: &credential.KBPolicy{Nonce: row.nonce, Audience: clientID}})
			if err != nil {
				code := Code(credential.CodeOf(err))
				if code == "" {
					code = CodeMalformedResponse
				}
				if vc := CodeOf(err); vc != "" {
					code = vc // a registry refusal inside the issuer key check
				}
				if r != nil && len(r.Checks) > 0 {
					for _, c := range r.Checks[:len(r.Checks)-1] {
						res.Checks = append(res.Checks, Check{Name: c.Name, OK: c.OK, Code: Code(c.Code)})
					}
				}
				return fail(code, "%v", err)
			}
			for _, c := range r.Checks {
				res.Checks = append(res.Checks, Check{Name: c.Name, OK: c.OK, Code: Code(c.Code)})
			}
			if !slices.Contains(cq.Meta.VCTValues, r.VCT) {
				return fail(CodeVCTNotRequested, "a %s credential was presented for %q", r.VCT, cq.ID)
			}
			if cq.TrustedAuthorities != nil {
				if err := s.checkAuthorities(&cq, r); err != nil {
					return fail(CodeUntrustedAuthority, "%v", err)
				}
				res.Checks = append(res.Checks, Check{Name: "trusted_authorities", OK: true})
			}
			ie, st, err := s.trust.issuer(ctx, r.Issuer)
			if err != nil {
				return fail(CodeOf(err), "%v", err)
			}
			stale = max(stale, st)
			issued := r.IssuedAt
			if issued.IsZero() {
				issued = s.cfg.Now()
			}
			ok, st, err := s.trust.accredited(ctx, ie.did, didregistry.RoleIssuer, r.VCT, issued)
			if err != nil {
				return fail(CodeOf(err), "%v", err)
			}
			stale = max(stale, st)
			if !ok {
				return fail(CodeIssuerNotAccredited, "%s was not accredited to issue %s when it issued this credential", ie.did, r.VCT)
			}
			res.Checks = append(res.Checks, Check{Name: "accreditation", OK: true})
			if r.Status != nil {
				sv, st, err := s.trust.status(ctx, r.Status, r.IssuerKey)
				if err != nil {
					return fail(CodeOf(err), "%v", err)
				}
				stale = max(stale, st)
				switch sv {
				case statuslist.Valid:
				case statuslist.Suspended:
					return fail(CodeCredentialSuspended, "the issuer has suspended this credential")
				default:
					return fail(CodeCredentialRevoked, "the issuer has revoked this credential")
				}
				res.Checks = append(res.Checks, Check{Name: "status", OK: true})
			}
			claims, err := requestedClaims(&cq, r.Claims)
			if err != nil {
				return fail(CodeOf(err), "%v", err)
			}
			res.Checks = append(res.Checks, Check{Name: "claims", OK: true})
			pres := Presented{QueryID: cq.ID, VCT: r.VCT, Issuer: r.Issuer, IssuerDID: ie.did, Claims: claims}
			if len(txData) > 0 {
				if err := checkTxData(r.KeyBinding, txData); err != nil {
					return fail(CodeTransactionData, "%v", err)
				}
				for _, t := range txData {
					pres.TransactionData = append(pres.TransactionData, decodeTx(t))
				}
				res.Checks = append(res.Checks, Check{Name: "transaction_data", OK: true})
			}
			res.Credentials = append(res.Credentials, pres)
		}
	}
	res.StalenessSeconds = int64(stale / time.Second)
	return nil
}

// parseVPToken reads a vp_token with the strict JSON parser (no duplicate
// members, valid UTF-8), in one pass.
func parseVPToken(raw string) (vpwire.VPToken, bool) {
	v, err := jose.ParseJSON([]byte(raw), 4)
	if err != nil {
		return nil, false
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	out := make(vpwire.VPToken, len(obj))
	for k, e := range obj {
		arr, ok := e.([]any)
		if !ok {
			return nil, false
		}
		vps := make([]string, len(arr))
		for i, x := range arr {
			if vps[i], ok = x.(string); !ok {
				return nil, false
			}
		}
		out[k] = vps
	}
	return out, true
}

// requestedClaims keeps exactly the claims the query asked for, checking
// presence and values (OpenID4VP §14.9: never rely on the wallet). Extra
// disclosed claims are dropped: neither stored nor shown.
func requestedClaims(cq *dcql.CredentialQuery, all map[string]any) (map[string]any, error) {
	out := map[string]any{}
	check := func(cl dcql.ClaimsQuery) error {
		v, ok := cl.Path.Lookup(all)
		if !ok {
			return errorf(CodeClaimMissing, "claim %v was asked for and not disclosed", []any(cl.Path))
		}
		if len(cl.Values) > 0 {
			match := false
			for _, want := range cl.Values {
				match = match || equalJSON(v, want)
			}
			if !match {
				return errorf(CodeClaimValue, "claim %v does not have an accepted value", []any(cl.Path))
			}
		}
		setPath(out, cl.Path, v)
		return nil
	}
	if len(cq.ClaimSets) == 0 {
		for _, cl := range cq.Claims {
			if err := check(cl); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	byID := map[string]dcql.ClaimsQuery{}
	for _, cl := range cq.Claims {
		byID[cl.ID] = cl
	}
	var lastErr error
	for _, set := range cq.ClaimSets {
		out = map[string]any{}
		lastErr = nil
		for _, id := range set {
			if err := check(byID[id]); err != nil {
				lastErr = err
				break
			}
		}
		if lastErr == nil {
			return out, nil
		}
	}
	return nil, lastErr
}

func setPath(out map[string]any, p dcql.Path, v any) {
	cur := out
	for i, e := range p {
		k, ok := e.(string)
		if !ok {
			return
		}
		if i == len(p)-1 {
			cur[k] = v
			return
		}
		next, ok := cur[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[k] = next
		}
		cur = next
	}
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// checkTxData requires the KB-JWT to bind every transaction_data entry
// (OpenID4VP Appendix B.3.3): transaction_data_hashes are the base64url
// SHA-256 of each entry as sent.
func checkTxData(kb *credential.KBClaims, txData []string) error {
	if kb == nil {
		return errors.New("no key binding to carry transaction_data_hashes")
	}
	raw, _ := kb.Raw[vpwire.KBTransactionDataHashes].([]any)
	if alg, ok := kb.Raw[vpwire.KBTransactionDataHashesAlg]; ok && alg != "sha-256" {
		return fmt.Errorf("transaction_data_hashes_alg %v is not sha-256", alg)
	}
	if len(raw) != len(txData) {
		return errors.New("transaction_data_hashes is missing or has the wrong length")
	}
	for i, t := range txData {
		if h, _ := raw[i].(string); h != hashB64(t) {
			return errors.New("a transaction_data hash does not match what was asked")
		}
	}
	return nil
}

func decodeTx(s string) map[string]any {
	var m map[string]any
	b, _ := base64.RawURLEncoding.DecodeString(s)
	_ = json.Unmarshal(b, &m)
	return m
}
