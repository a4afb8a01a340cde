//go:build !js

package wallet_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/wallet"
)

// counter is a test verifier: it serves signed request objects and
// records what wallets post. Our verifier package replaces it in the
// verifier's own tests.
type counter struct {
	t        *testing.T
	srv      *httptest.Server
	did      string
	key      *keys.Signer // signs request objects
	mu       sync.Mutex
	requests map[string]map[string]any
	posted   []url.Values
	// hooks for hostile variants
	redirectRequest string
}

// newCounter registers the counter's key in reg, accredited for
// purposes; with a nil reg it registers nothing.
func newCounter(t *testing.T, reg *tongtest.City, purposes ...string) *counter {
	c := &counter{t: t, requests: map[string]map[string]any{}}
	c.key, _ = keys.Generate(nil, keys.ES256)
	switch {
	case reg == nil: // the caller sets c.did
	case len(purposes) > 0:
		c.did = reg.Register(t, c.key, "", didregistry.RoleVerifier, purposes...)
	default:
		c.did = reg.Register(t, c.key, "", "")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /request/{id}", func(w http.ResponseWriter, r *http.Request) {
		if c.redirectRequest != "" {
			http.Redirect(w, r, c.redirectRequest, http.StatusFound)
			return
		}
		c.mu.Lock()
		claims := c.requests[r.PathValue("id")]
		c.mu.Unlock()
		h, _ := json.Marshal(map[string]any{"alg": "ES256", "typ": wallet.TypRequestObject, "kid": c.did + "#key-1"})
		p, _ := json.Marshal(claims)
		signer := c.key
		if k, ok := claims["_sign_with"].(*keys.Signer); ok {
			signer = k
			delete(claims, "_sign_with")
			p, _ = json.Marshal(claims)
		}
		jws, err := jose.SignRaw(signer, h, p)
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/oauth-authz-req+jwt")
		_, _ = w.Write([]byte(jws))
	})
	mux.HandleFunc("POST /response", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		c.mu.Lock()
		c.posted = append(c.posted, r.PostForm)
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	})
	c.srv = httptest.NewServer(mux)
	t.Cleanup(c.srv.Close)
	return c
}

func (c *counter) clientID() string { return wallet.PrefixDID + c.did }

// request stores a request object and returns the openid4vp:// URI.
func (c *counter) request(purpose string, dcqlQuery string, mod func(map[string]any)) (string, string) {
	id := base64.RawURLEncoding.EncodeToString([]byte(time.Now().String()))[:16]
	nonce := "n-" + id
	var q any
	_ = json.Unmarshal([]byte(dcqlQuery), &q)
	claims := map[string]any{
		"client_id": c.clientID(), "response_type": "vp_token", "response_mode": "direct_post",
		"response_uri": c.srv.URL + "/response", "nonce": nonce, "state": "s-" + id, "dcql_query": q,
		"aud": wallet.SelfIssuedAudience, "iat": time.Now().Unix(), "exp": time.Now().Add(5 * time.Minute).Unix(),
		wallet.PurposeClaim: purpose, "client_metadata": map[string]any{"client_name": "Dongcheng hall, counter 3"},
	}
	if mod != nil {
		mod(claims)
	}
	c.mu.Lock()
	c.requests[id] = claims
	c.mu.Unlock()
	return "openid4vp://?client_id=" + url.QueryEscape(c.clientID()) + "&request_uri=" + url.QueryEscape(c.srv.URL+"/request/"+id), nonce
}

// lastPresentation returns the single presentation of the last post.
func (c *counter) lastPresentation(t *testing.T, queryID string) string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.posted) == 0 {
		t.Fatal("nothing was posted")
	}
	var tok map[string][]string
	if err := json.Unmarshal([]byte(c.posted[len(c.posted)-1].Get("vp_token")), &tok); err != nil {
		t.Fatalf("vp_token: %v", err)
	}
	if len(tok[queryID]) != 1 {
		t.Fatalf("vp_token %v", tok)
	}
	return tok[queryID][0]
}

const ageQuery = `{"credentials":[{"id":"pid","format":"dc+sd-jwt","meta":{"vct_values":["urn:tong:vct:citizen-identity:1"]},
 "claims":[{"path":["family_name"]},{"path":["age_equal_or_over","18"]}]}]}`

// fixture: a registry, our issuer registered and accredited, a wallet
// holding a citizen identity.
type fixture struct {
	reg *tongtest.City // its registry; the issuer is iss
	iss *issuerEnv
	w   *wallet.Wallet
	c   *wallet.Credential
}

func newFixture(t *testing.T) *fixture { return newFixtureWith(t, -1) }

// newFixtureWith sets Options.RefillAt (-1: the wallet never refills by
// itself, so tests can count copies).
func newFixtureWith(t *testing.T, refillAt int) *fixture {
	f := &fixture{reg: tongtest.New(t, tongtest.Options{}), iss: newIssuer(t)}
	ag, _ := f.iss.svc.Agency(context.Background(), "psb")
	f.reg.Register(t, ag.Signer(), ag.IssuerURL, didregistry.RoleIssuer, "urn:tong:vct:citizen-identity:1")
	opts := loopbackOpts(f.iss.srv)
	opts.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	opts.Registry, opts.RequireRegistry = f.reg.Registry, true
	opts.RefillAt = refillAt
	f.w, _ = newWallet(t, opts)
	o, err := f.iss.offer(t, "citizen-identity")
	if err != nil {
		t.Fatal(err)
	}
	if f.c, err = f.w.Receive(t.Context(), o.OfferURI, o.TxCode); err != nil {
		t.Fatal(err)
	}
	if f.c.IssuerDID == "" {
		t.Fatal("the registry did not vouch for the issuer")
	}
	return f
}

func approveAll(ctx context.Context, r *wallet.ConsentRequest) (wallet.Decision, error) {
	return wallet.Decision{Approve: true}, nil
}

func verifyPresentation(t *testing.T, f *fixture, vp, nonce, aud string) *credential.Result {
	t.Helper()
	v := &credential.Verifier{Keys: &credential.JWTVCIssuerMetadata{Client: f.iss.srv.Client(), AllowLoopbackHTTP: true}}
	res, err := v.Verify(t.Context(), vp, credential.VerifyOptions{KeyBinding: &credential.KBPolicy{Nonce: nonce, Audience: aud}})
	if err != nil {
		t.Fatalf("the counter cannot verify the presentation: %v", err)
	}
	return res
}

func TestPresentDisclosesOnlyWhatWasAsked(t *testing.T) {
	f := newFixture(t)
	c := newCounter(t, f.reg, "identity-basic", "pay-fee")
	uri, nonce := c.request("identity-basic", ageQuery, nil)
	req, err := f.w.Match(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	if !req.Verified || req.VerifierDID != c.did || !req.Match.Satisfied {
		t.Fatalf("request %+v", req)
	}
	var asked *wallet.ConsentRequest
	rec, err := f.w.Present(t.Context(), req, func(ctx context.Context, r *wallet.ConsentRequest) (wallet.Decision, error) {
		asked = r
		return wallet.Decision{Approve: true}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if asked.Name != "Dongcheng hall, counter 3" || asked.Purpose != "identity-basic" || len(asked.Credentials) != 1 || len(asked.Credentials[0].Claims) != 2 {
		t.Fatalf("consent was asked %+v", asked)
	}
	res := verifyPresentation(t, f, c.lastPresentation(t, "pid"), nonce, c.clientID())
	if res.Claims["family_name"] != "王" || res.Claims["age_equal_or_over"].(map[string]any)["18"] != true {
		t.Fatalf("claims %v", res.Claims)
	}
	for _, hidden := range []string{"given_name", "birthdate", "personal_administrative_number", "address", "nationalities"} {
		if _, ok := res.Claims[hidden]; ok {
			t.Errorf("%s was disclosed without being asked", hidden)
		}
	}
	if _, ok := res.Claims["age_equal_or_over"].(map[string]any)["60"]; ok {
		t.Error("age_equal_or_over.60 was disclosed without being asked")
	}
	hist, err := f.w.History(t.Context())
	if err != nil || len(hist) != 1 || hist[0].ID != rec.ID || hist[0].Verifier != c.clientID() || len(hist[0].Disclosed[0].Claims) != 2 {
		t.Fatalf("history %+v %v", hist, err)
	}
	if got, _ := f.w.Credential(t.Context(), f.c.ID); got.CopiesLeft != f.c.CopiesLeft-1 {
		t.Errorf("copies left %d, want %d", got.CopiesLeft, f.c.CopiesLeft-1)
	}
}

func TestConsentWithholdsClaims(t *testing.T) {
	f := newFixture(t)
	c := newCounter(t, f.reg, "identity-basic")
	uri, nonce := c.request("identity-basic", ageQuery, nil)
	req, err := f.w.Match(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	// The citizen agrees to prove their age only, not their name.
	_, err = f.w.Present(t.Context(), req, func(ctx context.Context, r *wallet.ConsentRequest) (wallet.Decision, error) {
		return wallet.Decision{Approve: true, Approved: map[string][][]any{r.Credentials[0].CredentialID: {{"age_equal_or_over", "18"}}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res := verifyPresentation(t, f, c.lastPresentation(t, "pid"), nonce, c.clientID())
	if _, ok := res.Claims["family_name"]; ok {
		t.Fatal("family_name was sent although the citizen withheld it")
	}
	if len(res.Disclosed) != 1 {
		t.Fatalf("%d disclosures sent, want 1", len(res.Disclosed))
	}
	// Declining sends nothing but an error.
	uri, _ = c.request("identity-basic", ageQuery, nil)
	req, _ = f.w.Match(t.Context(), uri)
	if _, err := f.w.Present(t.Context(), req, func(context.Context, *wallet.ConsentRequest) (wallet.Decision, error) {
		return wallet.Decision{}, nil
	}); wallet.CodeOf(err) != wallet.CodeDeclined {
		t.Fatalf("decline: %v", err)
	}
	c.mu.Lock()
	last := c.posted[len(c.posted)-1]
	c.mu.Unlock()
	if last.Get("error") != "access_denied" || last.Get("vp_token") != "" {
		t.Fatalf("after decline the verifier got %v", last)
	}
}

// TestUnlinkablePresentations: two presentations of the same credential
// type to two verifiers share no signature, salt, holder key or KB-JWT.
func TestUnlinkablePresentations(t *testing.T) {
	f := newFixture(t)
	var parts [2][]string
	var holder [2]string
	for i := range 2 {
		c := newCounter(t, f.reg, "identity-basic")
		uri, nonce := c.request("identity-basic", ageQuery, nil)
		req, err := f.w.Match(t.Context(), uri)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.w.Present(t.Context(), req, approveAll); err != nil {
			t.Fatal(err)
		}
		vp := c.lastPresentation(t, "pid")
		res := verifyPresentation(t, f, vp, nonce, c.clientID())
		holder[i], _ = jose.Thumbprint(res.HolderKey)
		segs := strings.Split(vp, "~")
		jwt := strings.Split(segs[0], ".")
		parts[i] = append(parts[i], jwt[2]) // issuer signature
		for _, d := range res.Disclosed {
			parts[i] = append(parts[i], d.Salt, d.Encoded)
		}
		parts[i] = append(parts[i], segs[len(segs)-1]) // KB-JWT
	}
	if holder[0] == holder[1] {
		t.Fatal("both presentations use the same holder key")
	}
	seen := map[string]bool{}
	for _, p := range parts[0] {
		seen[p] = true
	}
	for _, p := range parts[1] {
		if seen[p] {
			t.Fatalf("the two presentations share %q", p)
		}
	}
}

func TestHostileVerifiers(t *testing.T) {
	f := newFixture(t)
	other, _ := keys.Generate(nil, keys.ES256)
	for _, tc := range []struct {
		name     string
		purposes []string
		purpose  string
		mod      func(map[string]any)
		redirect string
		code     string
	}{
		{name: "signed by a key not in the DID document", purposes: []string{"identity-basic"}, purpose: "identity-basic",
			mod: func(m map[string]any) { m["_sign_with"] = other }, code: wallet.CodeVerifierUntrusted},
		{name: "not accredited for the purpose", purposes: []string{"meeting-checkin"}, purpose: "pay-fee", code: wallet.CodeVerifierNotAccredited},
		{name: "not accredited at all", purpose: "identity-basic", code: wallet.CodeVerifierNotAccredited},
		{name: "expired request", purposes: []string{"identity-basic"}, purpose: "identity-basic",
			mod: func(m map[string]any) { m["exp"] = time.Now().Add(-time.Minute).Unix() }, code: wallet.CodeRequestExpired},
		{name: "redirect to another host", purposes: []string{"identity-basic"}, purpose: "identity-basic",
			redirect: "https://evil.example/request", code: wallet.CodeHTTP},
		{name: "response_uri not https", purposes: []string{"identity-basic"}, purpose: "identity-basic",
			mod: func(m map[string]any) { m["response_uri"] = "http://evil.example/response" }, code: wallet.CodeBadRequest},
		{name: "client_id mismatch", purposes: []string{"identity-basic"}, purpose: "identity-basic",
			mod: func(m map[string]any) { m["client_id"] = "decentralized_identifier:did:tong:zOther" }, code: wallet.CodeBadRequest},
		// Presence rules, and case-sensitive names (the typed decoding
		// took "" as absent and "Nonce" as nonce until vpwire.Unmarshal).
		{name: "empty aud", purposes: []string{"identity-basic"}, purpose: "identity-basic",
			mod: func(m map[string]any) { m["aud"] = "" }, code: wallet.CodeBadRequest},
		{name: "empty redirect_uri with direct_post", purposes: []string{"identity-basic"}, purpose: "identity-basic",
			mod: func(m map[string]any) { m["redirect_uri"] = "" }, code: wallet.CodeBadRequest},
		{name: "a member named in the wrong case", purposes: []string{"identity-basic"}, purpose: "identity-basic",
			mod: func(m map[string]any) { m["Nonce"] = m["nonce"]; delete(m, "nonce") }, code: wallet.CodeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCounter(t, f.reg, tc.purposes...)
			c.redirectRequest = tc.redirect
			uri, _ := c.request(tc.purpose, ageQuery, tc.mod)
			_, err := f.w.Match(t.Context(), uri)
			if wallet.CodeOf(err) != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			if len(c.posted) != 0 {
				t.Fatal("the wallet sent something to a hostile verifier")
			}
		})
	}
}

func TestTransactionDataIsSigned(t *testing.T) {
	f := newFixture(t)
	c := newCounter(t, f.reg, "pay-fee")
	td := base64.RawURLEncoding.EncodeToString([]byte(`{"type":"tong_payment","credential_ids":["pid"],"amount":"120.00","currency":"CNY","payee":"Dongcheng hall","order_id":"ord-1"}`))
	uri, nonce := c.request("pay-fee", ageQuery, func(m map[string]any) { m["transaction_data"] = []string{td} })
	req, err := f.w.Match(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	var shown []map[string]any
	if _, err := f.w.Present(t.Context(), req, func(ctx context.Context, r *wallet.ConsentRequest) (wallet.Decision, error) {
		shown = r.TransactionData
		return wallet.Decision{Approve: true}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(shown) != 1 || shown[0]["amount"] != "120.00" {
		t.Fatalf("consent showed %v", shown)
	}
	res := verifyPresentation(t, f, c.lastPresentation(t, "pid"), nonce, c.clientID())
	hashes, _ := res.KeyBinding.Raw["transaction_data_hashes"].([]any)
	if len(hashes) != 1 || res.KeyBinding.Raw["transaction_data_hashes_alg"] != "sha-256" {
		t.Fatalf("KB-JWT claims %v", res.KeyBinding.Raw)
	}
}

// TestEd25519HolderKeys: a wallet whose holder keys are Ed25519 receives
// and presents like one with P-256 keys.
func TestEd25519HolderKeys(t *testing.T) {
	f := &fixture{reg: tongtest.New(t, tongtest.Options{}), iss: newIssuer(t)}
	ag, _ := f.iss.svc.Agency(context.Background(), "psb")
	f.reg.Register(t, ag.Signer(), ag.IssuerURL, didregistry.RoleIssuer, "urn:tong:vct:citizen-identity:1")
	opts := loopbackOpts(f.iss.srv)
	opts.Registry, opts.RequireRegistry, opts.HolderAlg = f.reg.Registry, true, "EdDSA"
	f.w, _ = newWallet(t, opts)
	o, _ := f.iss.offer(t, "citizen-identity")
	if _, err := f.w.Receive(t.Context(), o.OfferURI, o.TxCode); err != nil {
		t.Fatal(err)
	}
	c := newCounter(t, f.reg, "identity-basic")
	uri, nonce := c.request("identity-basic", ageQuery, nil)
	req, err := f.w.Match(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.w.Present(t.Context(), req, approveAll); err != nil {
		t.Fatal(err)
	}
	res := verifyPresentation(t, f, c.lastPresentation(t, "pid"), nonce, c.clientID())
	if _, ok := res.HolderKey.(ed25519.PublicKey); !ok {
		t.Fatalf("holder key is %T, want Ed25519", res.HolderKey)
	}
}

// TestRefill: when the one-time copies run out, the wallet fetches fresh
// ones; after revocation it cannot.
func TestRefill(t *testing.T) {
	f := newFixture(t)
	for range f.c.CopiesLeft {
		c := newCounter(t, f.reg, "identity-basic")
		uri, _ := c.request("identity-basic", ageQuery, nil)
		req, err := f.w.Match(t.Context(), uri)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.w.Present(t.Context(), req, approveAll); err != nil {
			t.Fatal(err)
		}
	}
	c := newCounter(t, f.reg, "identity-basic")
	uri, _ := c.request("identity-basic", ageQuery, nil)
	// Not a misleading no_matching_credentials: the copies are used up.
	if _, err := f.w.Match(t.Context(), uri); wallet.CodeOf(err) != wallet.CodeCopiesExhausted {
		t.Fatalf("Match with no copies left: %v, want %s", err, wallet.CodeCopiesExhausted)
	}
	got, err := f.w.Refill(t.Context(), f.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CopiesLeft != f.c.CopiesLeft || !got.Refillable {
		t.Fatalf("after refill: %d copies, want %d", got.CopiesLeft, f.c.CopiesLeft)
	}
	uri, nonce := c.request("identity-basic", ageQuery, nil)
	req, err := f.w.Match(t.Context(), uri)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.w.Present(t.Context(), req, approveAll); err != nil {
		t.Fatal(err)
	}
	verifyPresentation(t, f, c.lastPresentation(t, "pid"), nonce, c.clientID())
	// The issuer rotates refresh tokens: a second refill works only if
	// the wallet kept the new one.
	if _, err := f.w.Refill(t.Context(), f.c.ID); err != nil {
		t.Fatalf("second refill: %v", err)
	}
	// Revoke: no more refills.
	ids, _ := f.iss.svc.Audit(t.Context(), "psb", 100)
	var credID string
	for _, a := range ids {
		if a.Action == "credential.issue" {
			credID = a.Object
		}
	}
	if _, err := f.iss.svc.SetStatus(t.Context(), "psb", "test", credID, "revoked"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.w.Refill(t.Context(), f.c.ID); wallet.CodeOf(err) != wallet.CodeIssuerRefused {
		t.Fatalf("refill after revocation: %v", err)
	}
}

// TestCopiesRefilledBeforeTheyRunOut: with the default RefillAt, a
// citizen presents many more times than there are copies and never runs
// out: Present refills when the copies fall to RefillAt.
func TestCopiesRefilledBeforeTheyRunOut(t *testing.T) {
	f := newFixtureWith(t, 0) // 0: DefaultRefillAt
	for i := range 3 * f.c.CopiesLeft {
		c := newCounter(t, f.reg, "identity-basic")
		uri, nonce := c.request("identity-basic", ageQuery, nil)
		req, err := f.w.Match(t.Context(), uri)
		if err != nil {
			t.Fatalf("presentation %d: Match: %v", i, err)
		}
		if _, err := f.w.Present(t.Context(), req, approveAll); err != nil {
			t.Fatalf("presentation %d: %v", i, err)
		}
		verifyPresentation(t, f, c.lastPresentation(t, "pid"), nonce, c.clientID())
		got, err := f.w.Credential(t.Context(), f.c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.CopiesLeft <= wallet.DefaultRefillAt {
			t.Fatalf("after presentation %d: %d copies left; the wallet should have refilled above %d", i, got.CopiesLeft, wallet.DefaultRefillAt)
		}
	}
}

// TestStatusShownAndRefused: a revoked credential is listed as revoked
// after RefreshStatus, Match says so instead of no_matching_credentials,
// and Refresh does not try to refill it.
func TestStatusShownAndRefused(t *testing.T) {
	f := newFixtureWith(t, 0)
	if f.c.Status != wallet.StatusValid {
		t.Fatalf("a fresh credential's status is %q, want valid", f.c.Status)
	}
	ids, _ := f.iss.svc.Audit(t.Context(), "psb", 100)
	var credID string
	for _, a := range ids {
		if a.Action == "credential.issue" {
			credID = a.Object
		}
	}
	if _, err := f.iss.svc.SetStatus(t.Context(), "psb", "test", credID, "suspended"); err != nil {
		t.Fatal(err)
	}
	n, err := f.w.RefreshStatus(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("RefreshStatus = %d, %v; want 1 change", n, err)
	}
	cs, err := f.w.Credentials(t.Context())
	if err != nil || len(cs) != 1 || cs[0].Status != wallet.StatusSuspended {
		t.Fatalf("after suspension the list shows %+v, %v", cs, err)
	}
	c := newCounter(t, f.reg, "identity-basic")
	uri, _ := c.request("identity-basic", ageQuery, nil)
	if _, err := f.w.Match(t.Context(), uri); wallet.CodeOf(err) != wallet.CodeCredentialRevoked {
		t.Fatalf("Match with only a suspended or revoked credential: %v, want %s", err, wallet.CodeCredentialRevoked)
	}
	res, err := f.w.Refresh(t.Context())
	if err != nil || res.Refilled != 0 {
		t.Fatalf("Refresh on an invalid credential = %+v, %v; want no refill", res, err)
	}
}

// TestDisplayKept: the issuer's display metadata (names in each locale,
// claim labels) is kept at receive time for the wallet to show offline.
func TestDisplayKept(t *testing.T) {
	f := newFixture(t)
	typ := demoTypes()["citizen-identity"]
	name := func(ds []issuer.Display, locale string) string {
		for _, d := range ds {
			if d.Locale == locale {
				return d.Name
			}
		}
		t.Fatalf("the demo type has no %s display", locale)
		return ""
	}
	if got, want := f.c.LocalDisplay("zh").Name, name(typ.Display, "zh"); got != want {
		t.Errorf("LocalDisplay(zh).Name = %q, want %q", got, want)
	}
	if got, want := f.c.LocalDisplay("en-GB").Name, name(typ.Display, "en"); got != want {
		t.Errorf("LocalDisplay(en-GB).Name = %q, want %q", got, want)
	}
	checked := 0
	for _, cd := range typ.Claims {
		if len(cd.Display) == 0 {
			continue
		}
		p := make([]any, len(cd.Path))
		for i, e := range cd.Path {
			p[i] = e
		}
		for _, locale := range []string{"en", "zh"} {
			if got, want := f.c.ClaimLabel(p, locale), name(cd.Display, locale); got != want {
				t.Errorf("ClaimLabel(%v, %s) = %q, want %q", cd.Path, locale, got, want)
			}
			checked++
		}
	}
	if checked < 10 {
		t.Fatalf("checked %d labels; the demo type should have more", checked)
	}
}

// TestStatusOfOlderCredentials: a credential stored before the wallet
// kept status references (an older wallet file) still gets its status:
// the wallet verifies a copy again to find them.
func TestStatusOfOlderCredentials(t *testing.T) {
	f := newFixture(t)
	if err := wallet.ForgetStatusRefs(t.Context(), f.w, f.c.ID); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.w.Credential(t.Context(), f.c.ID); c.Status != wallet.StatusUnknown {
		t.Fatalf("an older credential's status is %q, want unknown", c.Status)
	}
	ids, _ := f.iss.svc.Audit(t.Context(), "psb", 100)
	for _, a := range ids {
		if a.Action == "credential.issue" {
			if _, err := f.iss.svc.SetStatus(t.Context(), "psb", "test", a.Object, "revoked"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, err := f.w.RefreshStatus(t.Context()); err != nil || n != 1 {
		t.Fatalf("RefreshStatus = %d, %v", n, err)
	}
	if c, _ := f.w.Credential(t.Context(), f.c.ID); c.Status != wallet.StatusRevoked {
		t.Fatalf("after revocation the older credential shows %q, want revoked", c.Status)
	}
}
