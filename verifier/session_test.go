package verifier_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
)

// These tests call the verifier's Service directly: sessions are made
// and answered through its methods, not its HTTP API. The City around it
// is real (registry, issuer metadata and status lists on a loopback
// server), because that is what the verifier checks a presentation
// against.

type vclock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *vclock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.d) }
func (c *vclock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.d += d
}

func newCity(t *testing.T) (*tongtest.City, *vclock) {
	t.Helper()
	clk := &vclock{}
	c := tongtest.New(t, tongtest.Options{VerifierConfig: func(cfg *verifier.Config) { cfg.Now = clk.now }})
	return c, clk
}

func counter(t *testing.T, c *tongtest.City, purpose string) *verifier.Counter {
	t.Helper()
	ctr, err := c.Verifier.Authenticate(t.Context(), c.CounterTokens[purpose])
	if err != nil {
		t.Fatal(err)
	}
	return ctr
}

// request is what a wallet reads from a session's request object.
type request struct {
	ClientID        string   `json:"client_id"`
	Nonce           string   `json:"nonce"`
	State           string   `json:"state"`
	ResponseURI     string   `json:"response_uri"`
	ResponseMode    string   `json:"response_mode"`
	TransactionData []string `json:"transaction_data"`
}

func session(t *testing.T, c *tongtest.City, purpose string, nr verifier.NewRequest) (*verifier.Session, request) {
	t.Helper()
	nr.Purpose = purpose
	sess, err := c.Verifier.CreateSession(t.Context(), counter(t, c, purpose), nr)
	if err != nil {
		t.Fatalf("CreateSession(%s) = %v", purpose, err)
	}
	jwt, err := c.Verifier.RequestObject(t.Context(), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(jwt, ".")
	pl, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var r request
	if err := json.Unmarshal(pl, &r); err != nil {
		t.Fatal(err)
	}
	return sess, r
}

// issued is a credential the PSB issued to a holder key of the test's.
type issued struct {
	sdjwt        string
	holder       *ecdsa.PrivateKey
	credentialID string
}

// issue has an agency issue typ with claims changed by mod, to a fresh
// holder key, through the issuer's Service.
func issue(t *testing.T, c *tongtest.City, agency, typ string, mod func(map[string]any)) issued {
	t.Helper()
	ctx := t.Context()
	types, _ := issuer.DemoTypes()
	claims := map[string]any{}
	raw, _ := json.Marshal(types[typ].ExampleClaims)
	_ = json.Unmarshal(raw, &claims)
	if mod != nil {
		mod(claims)
	}
	o, err := c.Issuer.CreateOffer(ctx, agency, "test", issuer.OfferRequest{Type: typ, Claims: claims})
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := c.Issuer.CredentialOfferObject(ctx, agency, o.ID)
	tok, err := c.Issuer.Token(ctx, agency, issuer.TokenRequest{GrantType: issuer.GrantPreAuthorizedCode,
		PreAuthorizedCode: obj.Grants[issuer.GrantPreAuthorizedCode].PreAuthorizedCode, TxCode: o.TxCode, TxCodeSent: true})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := jose.PublicJWK(k.Public())
	pl, _ := json.Marshal(map[string]any{"aud": obj.CredentialIssuer, "iat": time.Now().Unix(), "nonce": c.Issuer.Nonce()})
	proof, err := jose.Sign(k, map[string]any{"alg": "ES256", "typ": issuer.TypProof, "jwk": jwk}, pl)
	if err != nil {
		t.Fatal(err)
	}
	proofs, _ := json.Marshal(map[string][]string{"jwt": {proof}})
	resp, _, err := c.Issuer.Credential(ctx, agency, tok.AccessToken, "", &issuer.CredentialRequest{CredentialConfigurationID: typ, Proofs: proofs})
	if err != nil {
		t.Fatal(err)
	}
	return issued{sdjwt: resp.Credentials[0].Credential, holder: k, credentialID: o.CredentialID}
}

// identityPaths are the claims identity-basic asks for.
var identityPaths = []credential.Path{{"family_name"}, {"given_name"}, {"age_equal_or_over", "18"}}

func present(t *testing.T, cred issued, paths []credential.Path, kb credential.KeyBinding) string {
	t.Helper()
	vp, err := credential.Present(cred.sdjwt, paths, cred.holder, kb)
	if err != nil {
		t.Fatal(err)
	}
	return vp
}

func vpToken(queryID string, vps ...string) string {
	b, _ := json.Marshal(map[string][]string{queryID: vps})
	return string(b)
}

func answer(t *testing.T, c *tongtest.City, id string, form url.Values) error {
	t.Helper()
	_, err := c.Verifier.HandleResponse(t.Context(), id, form)
	return err
}

// TestSessionLifecycle: a session is made for a purpose its counter may
// ask for, leaves pending exactly once, and only with its own state.
func TestSessionLifecycle(t *testing.T) {
	t.Parallel()
	c, clk := newCity(t)
	ctx := t.Context()
	basic := counter(t, c, "identity-basic")
	for _, tc := range []struct {
		name string
		nr   verifier.NewRequest
		want verifier.Code
	}{
		{"a purpose this counter may not ask for", verifier.NewRequest{Purpose: "pay-fee"}, verifier.CodeUnknownPurpose},
		{"a purpose that does not exist", verifier.NewRequest{Purpose: "mind-reading"}, verifier.CodeUnknownPurpose},
		{"transaction_data for a purpose without it", verifier.NewRequest{Purpose: "identity-basic", TransactionData: map[string]any{"amount": "1"}}, verifier.CodeInvalidRequest},
	} {
		if _, err := c.Verifier.CreateSession(ctx, basic, tc.nr); verifier.CodeOf(err) != tc.want {
			t.Errorf("CreateSession(%s) = %v, want %s", tc.name, err, tc.want)
		}
	}
	sess, req := session(t, c, "identity-basic", verifier.NewRequest{})
	if sess.Status != verifier.StatusPending || !strings.HasPrefix(sess.RequestURI, "openid4vp://") || !strings.Contains(sess.RequestURI, url.QueryEscape(sess.ID)) {
		t.Errorf("CreateSession = %+v", sess)
	}
	if req.ClientID != verifier.PrefixDID+c.HallDID || req.ResponseMode != "direct_post" || req.ResponseURI != c.URL+"/verifier/response/"+sess.ID || req.Nonce == "" || req.State == "" {
		t.Errorf("request object = %+v", req)
	}

	// A post without the session's state does not touch it.
	for _, st := range []string{"", "x" + req.State} {
		if err := answer(t, c, sess.ID, url.Values{"state": {st}, "error": {"access_denied"}}); verifier.CodeOf(err) != verifier.CodeStateMismatch {
			t.Errorf("HandleResponse(state %q) = %v, want %s", st, err, verifier.CodeStateMismatch)
		}
	}
	if got, _ := c.Verifier.Session(ctx, basic, sess.ID); got.Status != verifier.StatusPending || got.Result != nil {
		t.Fatalf("after stray posts, session = %+v, want pending", got)
	}
	// The wallet declines: the session is rejected, once.
	if err := answer(t, c, sess.ID, url.Values{"state": {req.State}, "error": {"access_denied"}}); verifier.CodeOf(err) != verifier.CodeWalletError {
		t.Fatalf("HandleResponse(error=access_denied) = %v, want %s", err, verifier.CodeWalletError)
	}
	got, err := c.Verifier.Wait(ctx, basic, sess.ID) // returns at once: no longer pending
	if err != nil || got.Status != verifier.StatusRejected || got.Result.Code != verifier.CodeWalletError {
		t.Fatalf("Wait = %+v, %v, want rejected with %s", got, err, verifier.CodeWalletError)
	}
	if err := answer(t, c, sess.ID, url.Values{"state": {req.State}, "vp_token": {"{}"}}); verifier.CodeOf(err) != verifier.CodeReplay {
		t.Errorf("HandleResponse(second answer) = %v, want %s", err, verifier.CodeReplay)
	}
	if err := answer(t, c, "ses_nope", url.Values{"state": {"x"}}); verifier.CodeOf(err) != verifier.CodeSessionNotFound {
		t.Errorf("HandleResponse(unknown session) = %v, want %s", err, verifier.CodeSessionNotFound)
	}
	// Another counter does not see it.
	if _, err := c.Verifier.Session(ctx, counter(t, c, "pay-fee"), sess.ID); verifier.CodeOf(err) != verifier.CodeNotFound {
		t.Errorf("Session(another counter) = %v, want %s", err, verifier.CodeNotFound)
	}

	// An expired session is answered with session_expired and closed.
	late, lateReq := session(t, c, "identity-basic", verifier.NewRequest{})
	clk.add(verifier.DefaultSessionTTL)
	if got, _ := c.Verifier.Session(ctx, basic, late.ID); got.Status != "expired" || got.RequestURI != "" {
		t.Errorf("Session(expired, unanswered) = %+v, want status expired and no request URI", got)
	}
	if err := answer(t, c, late.ID, url.Values{"state": {lateReq.State}, "error": {"access_denied"}}); verifier.CodeOf(err) != verifier.CodeSessionExpired {
		t.Errorf("HandleResponse(expired) = %v, want %s", err, verifier.CodeSessionExpired)
	}
	list, err := c.Verifier.Sessions(ctx, basic, 10)
	if err != nil || len(list) != 2 || (list[0].ID != late.ID && list[1].ID != late.ID) {
		t.Errorf("Sessions = %d, %v, want both sessions", len(list), err)
	}
}

// TestResponseChecks: each defect of a response fails at its own check,
// with its stable code, after the checks before it passed; the counter
// sees the same code in the stored result.
func TestResponseChecks(t *testing.T) {
	t.Parallel()
	c, _ := newCity(t)
	good := issue(t, c, "psb", "citizen-identity", nil)
	minor := issue(t, c, "psb", "citizen-identity", func(m map[string]any) {
		m["age_equal_or_over"].(map[string]any)["18"] = false
	})
	residence := issue(t, c, "housing", "beijing-residence", nil)
	revoked := issue(t, c, "psb", "citizen-identity", nil)
	suspended := issue(t, c, "psb", "citizen-identity", nil)
	if _, err := c.Issuer.SetStatus(t.Context(), "psb", "officer", revoked.credentialID, issuer.StatusRevoked); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Issuer.SetStatus(t.Context(), "psb", "officer", suspended.credentialID, issuer.StatusSuspended); err != nil {
		t.Fatal(err)
	}
	kb := func(r request) credential.KeyBinding {
		return credential.KeyBinding{Nonce: r.Nonce, Audience: r.ClientID}
	}
	presentation := []string{"state", credential.CheckSyntax, credential.CheckTyp, credential.CheckIssuerKey, credential.CheckSignature,
		credential.CheckClaims, credential.CheckValidity, credential.CheckDisclosures, credential.CheckKeyBinding}
	for _, tc := range []struct {
		name string
		vp   func(r request) string
		want verifier.Code
		// passed are the checks that pass before the failing one.
		passed []string
	}{
		{"genuine", func(r request) string { return vpToken("pid", present(t, good, identityPaths, kb(r))) }, "",
			append(presentation, "accreditation", "status", "claims")},
		{"no vp_token", func(request) string { return "" }, verifier.CodeMalformedResponse, []string{"state"}},
		{"vp_token not a JSON object", func(request) string { return `["x"]` }, verifier.CodeMalformedResponse, []string{"state"}},
		{"vp_token with a repeated member", func(request) string { return `{"pid":["a"],"pid":["b"]}` }, verifier.CodeMalformedResponse, []string{"state"}},
		{"an answer to a query not asked", func(r request) string { return vpToken("passport", present(t, good, identityPaths, kb(r))) }, verifier.CodeUnexpectedCredential, []string{"state"}},
		{"no presentation for the query", func(request) string { return `{"pid":[]}` }, verifier.CodeMissingCredential, []string{"state"}},
		{"two presentations for a single query", func(r request) string {
			return vpToken("pid", present(t, good, identityPaths, kb(r)), present(t, good, identityPaths, kb(r)))
		}, verifier.CodeMalformedResponse, []string{"state"}},
		{"not an SD-JWT", func(request) string { return vpToken("pid", "not-a-jwt~") }, verifier.Code(credential.CodeMalformed), []string{"state"}},
		{"no key binding", func(r request) string {
			vp, _ := credential.Present(good.sdjwt, identityPaths, nil, credential.KeyBinding{})
			return vpToken("pid", vp)
		}, verifier.Code(credential.CodeKBMissing), presentation[:len(presentation)-1]},
		{"another session's nonce", func(r request) string {
			return vpToken("pid", present(t, good, identityPaths, credential.KeyBinding{Nonce: "other", Audience: r.ClientID}))
		}, verifier.Code(credential.CodeKBNonce), presentation[:len(presentation)-1]},
		{"another verifier's audience", func(r request) string {
			return vpToken("pid", present(t, good, identityPaths, credential.KeyBinding{Nonce: r.Nonce, Audience: "decentralized_identifier:did:tong:zOther"}))
		}, verifier.Code(credential.CodeKBAudience), presentation[:len(presentation)-1]},
		{"a credential of another type", func(r request) string {
			return vpToken("pid", present(t, residence, nil, kb(r)))
		}, verifier.CodeVCTNotRequested, presentation},
		{"revoked", func(r request) string { return vpToken("pid", present(t, revoked, identityPaths, kb(r))) }, verifier.CodeCredentialRevoked,
			append(presentation, "accreditation")},
		{"suspended", func(r request) string { return vpToken("pid", present(t, suspended, identityPaths, kb(r))) }, verifier.CodeCredentialSuspended,
			append(presentation, "accreditation")},
		{"a requested claim withheld", func(r request) string {
			return vpToken("pid", present(t, good, identityPaths[:2], kb(r)))
		}, verifier.CodeClaimMissing, append(presentation, "accreditation", "status")},
		{"a claim without an accepted value", func(r request) string {
			return vpToken("pid", present(t, minor, identityPaths, kb(r)))
		}, verifier.CodeClaimValue, append(presentation, "accreditation", "status")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sess, req := session(t, c, "identity-basic", verifier.NewRequest{})
			err := answer(t, c, sess.ID, url.Values{"state": {req.State}, "vp_token": {tc.vp(req)}})
			if got := verifier.CodeOf(err); got != tc.want {
				t.Fatalf("HandleResponse(%s) = %v, want code %q", tc.name, err, tc.want)
			}
			stored, err := c.Verifier.Session(t.Context(), counter(t, c, "identity-basic"), sess.ID)
			if err != nil {
				t.Fatal(err)
			}
			res := stored.Result
			wantVerdict := verifier.StatusRejected
			if tc.want == "" {
				wantVerdict = verifier.StatusAccepted
			}
			if stored.Status != wantVerdict || res.Verdict != wantVerdict || res.Code != tc.want {
				t.Errorf("stored result: status %s, verdict %s, code %s; want %s, %s", stored.Status, res.Verdict, res.Code, wantVerdict, tc.want)
			}
			var names []string
			for i, ch := range res.Checks {
				last := i == len(res.Checks)-1 && tc.want != ""
				if last {
					if ch.OK || ch.Code != tc.want {
						t.Errorf("last check %+v, want failed with %s", ch, tc.want)
					}
					continue
				}
				if !ch.OK {
					t.Errorf("check %s failed before the failing one", ch.Name)
				}
				names = append(names, ch.Name)
			}
			if diff := cmp.Diff(tc.passed, names); diff != "" {
				t.Errorf("checks passed before the verdict (-want +got):\n%s", diff)
			}
			if tc.want != "" {
				if len(res.Credentials) != 0 {
					t.Errorf("a rejected result holds credentials: %+v", res.Credentials)
				}
				return
			}
			// Exactly the claims asked for: not birthdate or the rest,
			// though the presentation could have disclosed them.
			types, _ := issuer.DemoTypes()
			ex := types["citizen-identity"].ExampleClaims
			want := map[string]any{"family_name": ex["family_name"], "given_name": ex["given_name"], "age_equal_or_over": map[string]any{"18": true}}
			if len(res.Credentials) != 1 {
				t.Fatalf("accepted result holds %d credentials", len(res.Credentials))
			}
			p := res.Credentials[0]
			if diff := cmp.Diff(want, p.Claims); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
			if p.QueryID != "pid" || p.IssuerDID != c.PSB.DID || p.Issuer != c.PSB.IssuerURL || p.VCT != types["citizen-identity"].VCT {
				t.Errorf("presented = %+v", p)
			}
		})
	}
}

// TestOnlyRequestedClaims: disclosing more than was asked stores no more.
func TestOnlyRequestedClaims(t *testing.T) {
	t.Parallel()
	c, _ := newCity(t)
	cred := issue(t, c, "psb", "citizen-identity", nil)
	sess, req := session(t, c, "identity-basic", verifier.NewRequest{})
	paths := append([]credential.Path{{"birthdate"}, {"personal_administrative_number"}}, identityPaths...)
	vp := present(t, cred, paths, credential.KeyBinding{Nonce: req.Nonce, Audience: req.ClientID})
	if err := answer(t, c, sess.ID, url.Values{"state": {req.State}, "vp_token": {vpToken("pid", vp)}}); err != nil {
		t.Fatal(err)
	}
	got, _ := c.Verifier.Session(t.Context(), counter(t, c, "identity-basic"), sess.ID)
	keys := slices.Sorted(maps.Keys(got.Result.Credentials[0].Claims))
	if diff := cmp.Diff([]string{"age_equal_or_over", "family_name", "given_name"}, keys); diff != "" {
		t.Errorf("stored claims (-want +got):\n%s", diff)
	}
}

// TestTransactionData: pay-fee binds what the citizen pays for into the
// KB-JWT (OpenID4VP §8.4, transaction_data_hashes).
func TestTransactionData(t *testing.T) {
	t.Parallel()
	c, _ := newCity(t)
	ctx := t.Context()
	pay := counter(t, c, "pay-fee")
	for _, tc := range []struct {
		name string
		td   map[string]any
	}{
		{"none", nil},
		{"missing order_id", map[string]any{"amount": "12.50", "currency": "CNY", "payee": "Dongcheng"}},
		{"empty amount", map[string]any{"amount": "", "currency": "CNY", "payee": "Dongcheng", "order_id": "o-1"}},
	} {
		if _, err := c.Verifier.CreateSession(ctx, pay, verifier.NewRequest{Purpose: "pay-fee", TransactionData: tc.td}); verifier.CodeOf(err) != verifier.CodeInvalidRequest {
			t.Errorf("CreateSession(pay-fee, %s) = %v, want %s", tc.name, err, verifier.CodeInvalidRequest)
		}
	}
	cred := issue(t, c, "psb", "citizen-identity", nil)
	td := map[string]any{"amount": "12.50", "currency": "CNY", "payee": "Dongcheng", "order_id": "o-1"}
	paths := []credential.Path{{"family_name"}, {"given_name"}, {"personal_administrative_number"}}
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return base64.RawURLEncoding.EncodeToString(sum[:])
	}
	for _, tc := range []struct {
		name  string
		extra func(r request) map[string]any
		want  verifier.Code
	}{
		{"bound", func(r request) map[string]any {
			return map[string]any{"transaction_data_hashes": []string{hash(r.TransactionData[0])}, "transaction_data_hashes_alg": "sha-256"}
		}, ""},
		{"not bound", func(request) map[string]any { return nil }, verifier.CodeTransactionData},
		{"the hash of something else", func(request) map[string]any {
			return map[string]any{"transaction_data_hashes": []string{hash("eyJhbW91bnQiOiIxMDAwIn0")}}
		}, verifier.CodeTransactionData},
		{"another hash algorithm", func(r request) map[string]any {
			return map[string]any{"transaction_data_hashes": []string{hash(r.TransactionData[0])}, "transaction_data_hashes_alg": "sha-512"}
		}, verifier.CodeTransactionData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sess, req := session(t, c, "pay-fee", verifier.NewRequest{TransactionData: td})
			if len(req.TransactionData) != 1 {
				t.Fatalf("request object transaction_data = %v", req.TransactionData)
			}
			vp := present(t, cred, paths, credential.KeyBinding{Nonce: req.Nonce, Audience: req.ClientID, Extra: tc.extra(req)})
			err := answer(t, c, sess.ID, url.Values{"state": {req.State}, "vp_token": {vpToken("pid", vp)}})
			if verifier.CodeOf(err) != tc.want {
				t.Fatalf("HandleResponse(%s) = %v, want %q", tc.name, err, tc.want)
			}
			if tc.want != "" {
				return
			}
			got, _ := c.Verifier.Session(t.Context(), counter(t, c, "pay-fee"), sess.ID)
			paid := got.Result.Credentials[0].TransactionData
			if len(paid) != 1 || paid[0]["amount"] != "12.50" || paid[0]["type"] != "tong_payment" || paid[0]["order_id"] != "o-1" {
				t.Errorf("transaction data in the result = %v", paid)
			}
		})
	}
}

func TestPurposes(t *testing.T) {
	t.Parallel()
	c, _ := newCity(t)
	presets, err := verifier.Presets()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"identity-basic", "pay-fee", "meeting-booking", "meeting-checkin"} {
		if presets[id] == nil {
			t.Errorf("Presets() lacks %s", id)
		}
	}
	if got := len(c.Verifier.Purposes()); got != len(presets) {
		t.Errorf("Purposes() = %d, want the %d presets", got, len(presets))
	}
	query := `{"credentials":[{"id":"pid","format":"dc+sd-jwt","meta":{"vct_values":["urn:tong:vct:citizen-identity:1"]},"claims":[{"path":["birthdate"]}]}]}`
	taQuery := func(ta string) string {
		return `{"credentials":[{"id":"pid","format":"dc+sd-jwt","meta":{"vct_values":["urn:tong:vct:citizen-identity:1"]},"trusted_authorities":[{"type":` + ta + `}]}]}`
	}
	for _, tc := range []struct {
		name, raw string
		ok        bool
	}{
		{"valid", `{"id":"birthdate-check","display":[{"name":"Birthdate","locale":"en"}],"dcql_query":` + query + `}`, true},
		{"not JSON", `{"id":`, false},
		{"an unknown member", `{"id":"x","display":[{"name":"X"}],"dcql_query":` + query + `,"extra":1}`, false},
		{"a bad id", `{"id":"Birthdate Check","display":[{"name":"X"}],"dcql_query":` + query + `}`, false},
		{"no display", `{"id":"x","dcql_query":` + query + `}`, false},
		{"a display name with a control character", `{"id":"x","display":[{"name":"X\u202e"}],"dcql_query":` + query + `}`, false},
		{"no query", `{"id":"x","display":[{"name":"X"}]}`, false},
		{"another format", `{"id":"x","display":[{"name":"X"}],"dcql_query":{"credentials":[{"id":"m","format":"mso_mdoc","meta":{"doctype_value":"org.iso.18013.5.1.mDL"}}]}}`, false},
		{"trusted_authorities aki", `{"id":"x","display":[{"name":"X"}],"dcql_query":` + taQuery(`"aki","values":["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]`) + `}`, true},
		{"trusted_authorities the verifier cannot check", `{"id":"x","display":[{"name":"X"}],"dcql_query":` + taQuery(`"etsi_tl","values":["https://lotl.example"]`) + `}`, false},
		{"an aki value that is not base64url", `{"id":"x","display":[{"name":"X"}],"dcql_query":` + taQuery(`"aki","values":["not base64url!"]`) + `}`, false},
		{"transaction_data without required members", `{"id":"x","display":[{"name":"X"}],"dcql_query":` + query + `,"transaction_data":{"type":"t"}}`, false},
	} {
		_, err := verifier.ParsePurpose([]byte(tc.raw))
		if tc.ok != (err == nil) || (err != nil && verifier.CodeOf(err) != verifier.CodeInvalidPurpose && tc.name != "a display name with a control character") {
			t.Errorf("ParsePurpose(%s) = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
	p, err := c.Verifier.PutPurpose(t.Context(), []byte(`{"id":"birthdate-check","display":[{"name":"Birthdate","locale":"en"}],"dcql_query":`+query+`}`))
	if err != nil || p.ID != "birthdate-check" {
		t.Fatalf("PutPurpose = %v, %v", p, err)
	}
	if got, err := c.Verifier.Purpose("birthdate-check"); err != nil || got.ID != p.ID {
		t.Errorf("Purpose(birthdate-check) = %v, %v", got, err)
	}
	if _, err := c.Verifier.Purpose("nope"); verifier.CodeOf(err) != verifier.CodeUnknownPurpose {
		t.Errorf("Purpose(nope) = %v, want %s", err, verifier.CodeUnknownPurpose)
	}
	// The hall is not accredited for the new purpose, and no counter may
	// ask for it yet.
	if _, err := c.Verifier.CreateSession(t.Context(), counter(t, c, "identity-basic"), verifier.NewRequest{Purpose: "birthdate-check"}); verifier.CodeOf(err) != verifier.CodeUnknownPurpose {
		t.Errorf("CreateSession(a purpose the counter lacks) = %v, want %s", err, verifier.CodeUnknownPurpose)
	}
}

func TestCountersAndTokens(t *testing.T) {
	t.Parallel()
	c, _ := newCity(t)
	ctx := t.Context()
	ctr, tok, err := c.Verifier.AddCounter(ctx, "dongcheng", "window 9", []string{"identity-basic"})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Verifier.Authenticate(ctx, tok); err != nil || got.ID != ctr.ID || got.Org != "dongcheng" {
		t.Errorf("Authenticate = %+v, %v", got, err)
	}
	for _, tc := range []struct {
		name     string
		org      string
		purposes []string
	}{
		{"an unknown organisation", "nowhere", []string{"identity-basic"}},
		{"an unknown purpose", "dongcheng", []string{"mind-reading"}},
	} {
		if _, _, err := c.Verifier.AddCounter(ctx, tc.org, "x", tc.purposes); err == nil {
			t.Errorf("AddCounter(%s) = nil error", tc.name)
		}
	}
	tok2, err := c.Verifier.CreateToken(ctx, ctr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verifier.RevokeTokens(ctx, ctr.ID); err != nil {
		t.Fatal(err)
	}
	for _, tk := range []string{tok, tok2, "", "tong_ct_nope"} {
		if _, err := c.Verifier.Authenticate(ctx, tk); verifier.CodeOf(err) != verifier.CodeUnauthorized {
			t.Errorf("Authenticate(%q) after revocation = %v, want %s", tk, err, verifier.CodeUnauthorized)
		}
	}
	// A signed result names the organisation and the session.
	o, err := c.Verifier.Org(ctx, "dongcheng")
	if err != nil {
		t.Fatal(err)
	}
	jwt, err := c.Verifier.SignResult(o, ctr.ID, "ses_x", &verifier.Result{Verdict: verifier.StatusAccepted})
	if err != nil {
		t.Fatal(err)
	}
	jws, err := jose.Parse(jwt, 1<<16)
	if err != nil || jws.Header.Typ != verifier.TypResult || jws.Header.Kid != o.KeyID {
		t.Fatalf("SignResult header = %+v, %v", jws, err)
	}
	var pl struct {
		Iss, Sub string
		Result   verifier.Result
	}
	_ = json.Unmarshal([]byte(jws.Payload), &pl)
	if pl.Iss != c.HallDID || pl.Sub != "ses_x" || pl.Result.Verdict != verifier.StatusAccepted {
		t.Errorf("SignResult payload = %+v", pl)
	}
	if n, err := c.Verifier.PurgeExpired(context.Background()); err != nil || n != 0 {
		t.Errorf("PurgeExpired() = %d, %v", n, err)
	}
}
