// Package interop_test runs Tong against independent implementations of
// OpenID4VCI 1.0, OpenID4VP 1.0 and SD-JWT VC from npm (the @openid4vc
// and @sd-jwt libraries, dcql, jose; pinned in package-lock.json), under
// Debian's nodejs. docs/interop.md lists the scenarios and the gaps.
package interop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/jose"
	tkeys "github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/x509ca"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
	"github.com/tongid/tong/wallet"
	"github.com/tongid/tong/web"
)

func offer(t *testing.T, c *tongtest.City, agency, typ string) *issuer.Offer {
	t.Helper()
	types, _ := issuer.DemoTypes()
	o, err := c.Issuer.CreateOffer(context.Background(), agency, "interop", issuer.OfferRequest{Type: typ, Claims: types[typ].ExampleClaims})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestForeignWalletWithTong: the npm wallet receives a citizen identity
// from Tong's issuer (pre-authorized code with tx_code), then answers
// Tong's verifier (decentralized_identifier client, signed request
// object) with only the claims the DCQL query asks for.
func TestForeignWalletWithTong(t *testing.T) {
	node(t)
	c := tongtest.New(t, tongtest.Options{})
	o := offer(t, c, "psb", "citizen-identity")
	s := session(t, c, "identity-basic", verifier.NewRequest{})
	steps := runWallet(t, map[string]any{"registry": c.URL, "steps": []map[string]any{
		{"receive": map[string]any{"offer": o.OfferURI, "tx_code": o.TxCode}},
		{"present": map[string]any{"request_uri": s.RequestURI}},
	}})
	got, sent := steps[0], steps[1]
	if !got.ok() {
		t.Fatalf("foreign wallet could not receive from Tong: %v", got)
	}
	if got["typ"] != "dc+sd-jwt" || got["vct"] != "urn:tong:vct:citizen-identity:1" {
		t.Errorf("received typ %v vct %v", got["typ"], got["vct"])
	}
	if !sent.ok() {
		t.Fatalf("foreign wallet could not present to Tong: %v", sent)
	}
	if sent["client_prefix"] != "decentralized_identifier" || sent["status"] != float64(200) {
		t.Errorf("presentation: prefix %v, HTTP %v %v", sent["client_prefix"], sent["status"], sent["body"])
	}
	// Only the requested claims left the wallet.
	disclosed := sent["disclosed"].(map[string]any)["pid"].(map[string]any)
	var names []string
	for k := range disclosed {
		names = append(names, k)
	}
	slices.Sort(names)
	if want := []string{"age_equal_or_over", "family_name", "given_name"}; !slices.Equal(names, want) {
		t.Errorf("disclosed %v, want %v", names, want)
	}
	if age := disclosed["age_equal_or_over"].(map[string]any); len(age) != 1 || age["18"] != true {
		t.Errorf("disclosed age_equal_or_over %v, want only 18", age)
	}
	r := result(t, c, "identity-basic", s.ID)
	if r.Status != verifier.StatusAccepted || r.Result == nil {
		b, _ := json.Marshal(r)
		t.Fatalf("Tong's verifier did not accept: %s", b)
	}
	cl := r.Result.Credentials[0].Claims
	if cl["family_name"] != "王" || cl["given_name"] != "小明" {
		t.Errorf("verified claims %v", cl)
	}
	if _, ok := cl["personal_administrative_number"]; ok {
		t.Error("a claim that was not asked for reached the verifier")
	}
}

// identityClaims are what the foreign issuer puts in its credentials.
var identityClaims = map[string]any{"family_name": "Müller", "given_name": "Erika", "birthdate": "1964-08-12",
	"age_equal_or_over": map[string]any{"18": true, "65": false}}

// tongWallet is Tong's wallet with the city's registry, not requiring it:
// so it accepts a foreign issuer that the registry does not know, and a
// verifier that authenticates itself by its redirect_uri.
func tongWallet(t *testing.T, c *tongtest.City) *wallet.Wallet {
	t.Helper()
	w, err := wallet.Create(context.Background(), filepath.Join(t.TempDir(), "w.db"), []byte("pass"), wallet.Options{
		HTTPClient: c.Client(), AllowLoopbackHTTP: true, Registry: c.Registry, Copies: 2,
		KDF: wallet.KDF{Alg: "argon2id", Time: 1, Memory: 8 << 10, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func approveAll(context.Context, *wallet.ConsentRequest) (wallet.Decision, error) {
	return wallet.Decision{Approve: true}, nil
}

func dcqlFor(vct string, paths ...[]any) map[string]any {
	var claims []map[string]any
	for _, p := range paths {
		claims = append(claims, map[string]any{"path": p})
	}
	return map[string]any{"credentials": []map[string]any{{"id": "id", "format": "dc+sd-jwt",
		"meta": map[string]any{"vct_values": []string{vct}}, "claims": claims}}}
}

// foreignResult is what server.mjs's verifier concluded.
type foreignResult struct {
	Verified     bool   `json:"verified"`
	Error        string `json:"error"`
	ResponseMode string `json:"response_mode"`
	Encrypted    bool   `json:"encrypted"`
	Credentials  map[string]struct {
		Iss         string         `json:"iss"`
		VCT         string         `json:"vct"`
		Typ         string         `json:"typ"`
		X5c         bool           `json:"x5c"`
		X5cVerified bool           `json:"x5c_verified"`
		Status      bool           `json:"status"`
		Claims      map[string]any `json:"claims"`
	} `json:"credentials"`
}

// presentToForeign has Tong's wallet answer a request of the foreign
// verifier and returns the foreign verifier's result.
func presentToForeign(t *testing.T, w *wallet.Wallet, f *foreign, req map[string]any) *foreignResult {
	t.Helper()
	var r struct {
		ID         string `json:"id"`
		RequestURI string `json:"request_uri"`
	}
	f.call(t, "/admin/requests", req, &r)
	m, err := w.Match(t.Context(), r.RequestURI)
	if err != nil {
		t.Fatalf("Tong's wallet refused the foreign request: %v", err)
	}
	if !m.Match.Satisfied {
		t.Fatal("Tong's wallet found no credential for the foreign request")
	}
	if _, err := w.Present(t.Context(), m, approveAll); err != nil {
		var res foreignResult
		f.call(t, "/admin/results", map[string]string{"id": r.ID}, &res)
		t.Fatalf("Present: %v (foreign verifier: %s)", err, res.Error)
	}
	var res foreignResult
	f.call(t, "/admin/results", map[string]string{"id": r.ID}, &res)
	return &res
}

// keys lists a disclosed claim set's names, leaving out objects that
// disclosed nothing (a container whose members are all withheld shows as
// {} once its _sd digests are removed).
func keys(m map[string]any) []string {
	var out []string
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok && len(sub) == 0 {
			continue
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestTongWalletWithForeign: Tong's wallet receives a credential from the
// npm issuer (pre-authorized code with tx_code) and presents it, and a
// Tong credential, to the npm verifier, which checks each with
// @sd-jwt/sd-jwt-vc (issuer key from JWT VC Issuer Metadata, Token
// Status List, KB-JWT nonce, aud and sd_hash).
func TestTongWalletWithForeign(t *testing.T) {
	node(t)
	c := tongtest.New(t, tongtest.Options{})
	f := startForeign(t)
	w := tongWallet(t, c)

	t.Run("foreign verifier checks a Tong credential", func(t *testing.T) {
		o := offer(t, c, "psb", "citizen-identity")
		if _, err := w.Receive(t.Context(), o.OfferURI, o.TxCode); err != nil {
			t.Fatal(err)
		}
		res := presentToForeign(t, w, f, map[string]any{"dcql_query": dcqlFor("urn:tong:vct:citizen-identity:1",
			[]any{"family_name"}, []any{"age_equal_or_over", "18"})})
		if !res.Verified {
			t.Fatalf("the foreign verifier refused a Tong credential: %s", res.Error)
		}
		got := res.Credentials["id"]
		if got.Iss != c.URL+"/issuers/psb" || got.Typ != "dc+sd-jwt" || !got.Status {
			t.Errorf("foreign verifier saw iss %q typ %q status %v", got.Iss, got.Typ, got.Status)
		}
		if k := keys(got.Claims); !slices.Equal(k, []string{"age_equal_or_over", "family_name"}) {
			t.Errorf("disclosed %v, want only the two asked for", k)
		}
	})

	t.Run("Tong wallet receives from a foreign issuer and presents to a foreign verifier", func(t *testing.T) {
		var o struct {
			OfferURI string `json:"offer_uri"`
			TxCode   string `json:"tx_code"`
		}
		f.call(t, "/admin/offers", map[string]any{"issuer": "a", "vct": "urn:foreign:vct:identity:1", "claims": identityClaims}, &o)
		cred, err := w.Receive(t.Context(), o.OfferURI, o.TxCode)
		if err != nil {
			t.Fatalf("Tong's wallet could not receive from the foreign issuer: %v", err)
		}
		if cred.Issuer != f.Issuers["a"].URL || cred.IssuerDID != "" || cred.Claims["given_name"] != "Erika" {
			t.Errorf("received %+v", cred)
		}
		res := presentToForeign(t, w, f, map[string]any{"dcql_query": dcqlFor("urn:foreign:vct:identity:1", []any{"given_name"})})
		if !res.Verified {
			t.Fatalf("the foreign verifier refused: %s", res.Error)
		}
		if got := res.Credentials["id"]; got.Iss != f.Issuers["a"].URL || !slices.Equal(keys(got.Claims), []string{"given_name"}) {
			t.Errorf("foreign verifier saw iss %q claims %v", got.Iss, got.Claims)
		}
	})
}

// TestTongVerifierRefusesUnaccredited: the npm wallet receives a "citizen
// identity" from the npm issuer and presents it to Tong's verifier, which
// refuses it: issuer b is in the registry (its did:tong holds its key and
// the trust authority bound its URL) but accredited only for its own
// type, not for citizen identity (issuer_not_accredited); issuer a is not
// in the registry at all (issuer_unknown). Everything else about the
// presentations is valid, so the refusal is the registry's.
func TestTongVerifierRefusesUnaccredited(t *testing.T) {
	node(t)
	c := tongtest.New(t, tongtest.Options{})
	keyB, err := c.Keys.Create("foreign-b", tkeys.ES256)
	if err != nil {
		t.Fatal(err)
	}
	privB, err := jose.PrivateJWK(keyB)
	if err != nil {
		t.Fatal(err)
	}
	given, _ := json.Marshal(map[string]any{"b": privB})
	f := startForeignEnv(t, []string{"FOREIGN_ISSUER_KEYS=" + string(given)})
	c.Register(t, keyB, f.Issuers["b"].URL, didregistry.RoleIssuer, "urn:foreign:vct:identity:1")
	for _, tc := range []struct {
		slug string
		want verifier.Code
	}{{"b", verifier.CodeIssuerNotAccredited}, {"a", verifier.CodeIssuerUnknown}} {
		t.Run(tc.slug, func(t *testing.T) {
			var o struct {
				OfferURI string `json:"offer_uri"`
				TxCode   string `json:"tx_code"`
			}
			f.call(t, "/admin/offers", map[string]any{"issuer": tc.slug, "vct": "urn:tong:vct:citizen-identity:1", "claims": identityClaims}, &o)
			s := session(t, c, "identity-basic", verifier.NewRequest{})
			steps := runWallet(t, map[string]any{"registry": c.URL, "steps": []map[string]any{
				{"receive": map[string]any{"offer": o.OfferURI, "tx_code": o.TxCode}},
				{"present": map[string]any{"request_uri": s.RequestURI}},
			}})
			if !steps[0].ok() {
				t.Fatalf("foreign wallet could not receive from the foreign issuer: %v", steps[0])
			}
			if steps[1]["status"] == float64(200) {
				t.Errorf("Tong's verifier answered 200 to an unaccredited issuer's credential")
			}
			r := result(t, c, "identity-basic", s.ID)
			if r.Status != verifier.StatusRejected || r.Result == nil || r.Result.Code != tc.want {
				b, _ := json.Marshal(r)
				t.Fatalf("session %s, want rejected with %s", b, tc.want)
			}
		})
	}
}

// haip gives the city's Dongcheng hall a certificate from a fresh city CA
// and returns the CA's PEM file, for wallets to trust.
func haip(t *testing.T) (*tongtest.City, string) {
	t.Helper()
	c, pem, _, _ := haipCA(t)
	return c, pem
}

func haipCA(t *testing.T) (*tongtest.City, string, []byte, *ecdsa.PrivateKey) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca, err := x509ca.NewRoot(caKey, "Beijing City Trust Authority", time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	tl, _ := x509ca.NewTrustList(ca)
	c := tongtest.New(t, tongtest.Options{VerifierConfig: func(cfg *verifier.Config) { cfg.TrustList = tl }})
	hall, _ := c.Keys.Load("org-dongcheng")
	leaf, err := x509ca.Issue(ca, caKey, hall.Public(), x509ca.Leaf{CommonName: "Dongcheng District Government Service Hall"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verifier.SetCertificate(t.Context(), "dongcheng", x509ca.EncodeX5C(leaf)); err != nil {
		t.Fatal(err)
	}
	pemFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(pemFile, x509ca.EncodePEM(ca), 0o644); err != nil {
		t.Fatal(err)
	}
	return c, pemFile, ca, caKey
}

// TestForeignWalletHAIP: the npm wallet, trusting the city CA, answers a
// Tong counter that asks with HAIP's x509_hash client identifier (the
// library checks the leaf's hash, our callback the chain) and
// direct_post.jwt (the library encrypts to the session's key with
// ECDH-ES); Tong's verifier decrypts and accepts.
func TestForeignWalletHAIP(t *testing.T) {
	node(t)
	c, caPEM := haip(t)
	o := offer(t, c, "psb", "citizen-identity")
	s := session(t, c, "identity-basic", verifier.NewRequest{ClientIDPrefix: "x509_hash", ResponseMode: verifier.ResponseModeDirectPostJWT})
	steps := runWallet(t, map[string]any{"registry": c.URL, "ca": caPEM, "steps": []map[string]any{
		{"receive": map[string]any{"offer": o.OfferURI, "tx_code": o.TxCode}},
		{"present": map[string]any{"request_uri": s.RequestURI}},
	}})
	if !steps[0].ok() || !steps[1].ok() {
		t.Fatalf("foreign wallet: %v / %v", steps[0], steps[1])
	}
	if p := steps[1]; p["client_prefix"] != "x509_hash" || p["response_mode"] != "direct_post.jwt" || p["encrypted"] != true || p["status"] != float64(200) {
		t.Errorf("presentation %v", p)
	}
	r := result(t, c, "identity-basic", s.ID)
	if r.Status != verifier.StatusAccepted {
		b, _ := json.Marshal(r)
		t.Fatalf("Tong's verifier did not accept: %s", b)
	}
	encrypted := false
	for _, ch := range r.Result.Checks {
		encrypted = encrypted || (ch.Name == "response_encryption" && ch.OK)
	}
	if !encrypted {
		t.Errorf("checks %v have no response_encryption", r.Result.Checks)
	}

	// The same wallet trusting another CA refuses the counter.
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := x509ca.NewRoot(otherKey, "Other CA", time.Now(), 0)
	otherPEM := filepath.Join(t.TempDir(), "other.pem")
	os.WriteFile(otherPEM, x509ca.EncodePEM(other), 0o644)
	s2 := session(t, c, "identity-basic", verifier.NewRequest{ClientIDPrefix: "x509_hash", ResponseMode: verifier.ResponseModeDirectPostJWT})
	steps = runWallet(t, map[string]any{"registry": c.URL, "ca": otherPEM, "steps": []map[string]any{
		{"receive": map[string]any{"offer": offer(t, c, "psb", "citizen-identity").OfferURI, "tx_code": "x"}},
		{"present": map[string]any{"request_uri": s2.RequestURI}},
	}})
	if steps[1].ok() {
		t.Errorf("a wallet that does not trust the city CA answered: %v", steps[1])
	}
}

// TestTongWalletHAIPWithForeignVerifier: the npm verifier asks with HAIP's
// x509_hash (a certificate from the city CA, its chain in the JAR's x5c
// header, signed by @openid4vc/oauth2's JAR code) and direct_post.jwt (its
// own ephemeral ECDH-ES key); Tong's wallet checks the chain against the
// city CA, encrypts, and the npm verifier decrypts and verifies.
func TestTongWalletHAIPWithForeignVerifier(t *testing.T) {
	node(t)
	c := tongtest.New(t, tongtest.Options{})
	f := startForeign(t)
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca, _ := x509ca.NewRoot(caKey, "Beijing City Trust Authority", time.Now(), 0)
	vKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, err := x509ca.Issue(ca, caKey, vKey.Public(), x509ca.Leaf{CommonName: "Foreign counter"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	priv, err := jose.PrivateJWK(vKey)
	if err != nil {
		t.Fatal(err)
	}
	priv.Alg = "ES256"
	w, err := wallet.Create(context.Background(), filepath.Join(t.TempDir(), "w.db"), []byte("pass"), wallet.Options{
		HTTPClient: c.Client(), AllowLoopbackHTTP: true, Registry: c.Registry, RequireRegistry: true, Copies: 2, TrustedCAs: [][]byte{ca},
		KDF: wallet.KDF{Alg: "argon2id", Time: 1, Memory: 8 << 10, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	o := offer(t, c, "psb", "citizen-identity")
	if _, err := w.Receive(t.Context(), o.OfferURI, o.TxCode); err != nil {
		t.Fatal(err)
	}
	res := presentToForeign(t, w, f, map[string]any{
		"dcql_query":       dcqlFor("urn:tong:vct:citizen-identity:1", []any{"given_name"}),
		"client_id_prefix": "x509_hash", "response_mode": "direct_post.jwt",
		"x509": map[string]any{"chain": x509ca.EncodeX5C(leaf), "key": priv}})
	if !res.Verified || !res.Encrypted || res.ResponseMode != "direct_post.jwt" {
		t.Fatalf("foreign verifier: verified %v encrypted %v mode %q: %s", res.Verified, res.Encrypted, res.ResponseMode, res.Error)
	}
	if got := res.Credentials["id"]; !slices.Equal(keys(got.Claims), []string{"given_name"}) {
		t.Errorf("disclosed %v", got.Claims)
	}
}

// TestX5CCredentials: once the PSB holds a certificate from the city CA,
// its credentials carry the chain in their x5c header beside kid. The npm
// wallet sees it; the npm verifier, trusting the city CA, takes the
// issuer's key from the certificate (not from JWT VC Issuer Metadata) and
// accepts Tong's wallet's presentation; Tong's verifier, which takes the
// key from JWT VC Issuer Metadata and the did:tong document, accepts the
// npm wallet's.
func TestX5CCredentials(t *testing.T) {
	node(t)
	c, caPEM, ca, caKey := haipCA(t)
	psb, _ := c.Keys.Load("org-psb")
	leaf, err := x509ca.Issue(ca, caKey, psb.Public(), x509ca.Leaf{CommonName: "PSB", URIs: []string{c.URL + "/issuers/psb"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Issuer.SetCertificate(t.Context(), "psb", x509ca.EncodeX5C(leaf)); err != nil {
		t.Fatal(err)
	}
	o := offer(t, c, "psb", "citizen-identity")
	s := session(t, c, "identity-basic", verifier.NewRequest{})
	steps := runWallet(t, map[string]any{"registry": c.URL, "steps": []map[string]any{
		{"receive": map[string]any{"offer": o.OfferURI, "tx_code": o.TxCode}},
		{"present": map[string]any{"request_uri": s.RequestURI}},
	}})
	if !steps[0].ok() || steps[0]["x5c"] != true {
		t.Fatalf("npm wallet received %v, want an x5c header", steps[0])
	}
	// The status list token carries the chain too (HAIP 1.0).
	sl := steps[0]["claims"].(map[string]any)["status"].(map[string]any)["status_list"].(map[string]any)["uri"].(string)
	resp, err := c.Client().Get(sl)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if jws, err := jose.Parse(string(raw), 1<<20); err != nil || len(jws.Header.X5C) != 1 {
		t.Errorf("status list token %s: %v, want an x5c header", sl, err)
	}
	if r := result(t, c, "identity-basic", s.ID); r.Status != verifier.StatusAccepted {
		t.Errorf("Tong's verifier: %s %+v", r.Status, r.Result)
	}

	f := startForeign(t, "--ca", caPEM)
	w := tongWallet(t, c)
	o2 := offer(t, c, "psb", "citizen-identity")
	if _, err := w.Receive(t.Context(), o2.OfferURI, o2.TxCode); err != nil {
		t.Fatal(err)
	}
	res := presentToForeign(t, w, f, map[string]any{"dcql_query": dcqlFor("urn:tong:vct:citizen-identity:1", []any{"given_name"})})
	got := res.Credentials["id"]
	if !res.Verified || !got.X5c || !got.X5cVerified {
		t.Fatalf("npm verifier: verified %v x5c %v x5c_verified %v: %s", res.Verified, got.X5c, got.X5cVerified, res.Error)
	}
}

// TestForeignWalletAuthorizationCode: the npm wallet runs the
// authorization code flow against a Tong agency of high assurance with
// @openid4vc/openid4vci's own client: metadata discovery, PAR with PKCE
// (S256) and a DPoP proof, the authorization endpoint (where Tong's
// issuer asks, through Tong's verifier, for the citizen identity
// credential the wallet received from the PSB), the redirect with code,
// state and iss (checked by the library), the authorization_code grant
// with code_verifier, redirect_uri and DPoP, and the credential request
// with the DPoP-bound token. The credential is the one the housing
// commission staged for this citizen.
func TestForeignWalletAuthorizationCode(t *testing.T) {
	node(t)
	authn := &web.IssuerAuthenticator{}
	c := tongtest.New(t, tongtest.Options{IssuerConfig: func(cfg *issuer.Config) { cfg.Authenticator = authn }})
	ctx := context.Background()
	var err error
	if authn.Counter, err = c.Verifier.Authenticate(ctx, c.CounterTokens[web.PurposeIssuerSignIn]); err != nil {
		t.Fatal(err)
	}
	authn.Verifier = c.Verifier
	if err := c.Issuer.SetProfile(ctx, "housing", issuer.ProfileHAIP); err != nil {
		t.Fatal(err)
	}
	types, _ := issuer.DemoTypes()
	pan := types["citizen-identity"].ExampleClaims[issuer.SubjectClaim].(string)
	staged, err := c.Issuer.CreateOffer(ctx, "housing", "interop", issuer.OfferRequest{Type: "beijing-residence", Claims: types["beijing-residence"].ExampleClaims, Subject: pan})
	if err != nil {
		t.Fatal(err)
	}
	housing, _ := c.Issuer.Agency(ctx, "housing")
	o := offer(t, c, "psb", "citizen-identity")
	steps := runWallet(t, map[string]any{"registry": c.URL, "steps": []map[string]any{
		{"receive": map[string]any{"offer": o.OfferURI, "tx_code": o.TxCode}},
		{"authorize": map[string]any{"issuer": housing.IssuerURL, "credential_configuration_id": "beijing-residence",
			"client_id": "npm-wallet", "redirect_uri": "https://npm-wallet.example/cb", "dpop": true}},
	}})
	if !steps[0].ok() {
		t.Fatalf("foreign wallet could not receive the identity: %v", steps[0])
	}
	got := steps[1]
	if !got.ok() {
		t.Fatalf("foreign wallet's authorization code flow: %v", got)
	}
	if got["pkce"] != true || got["token_type"] != "DPoP" || got["presentation_status"] != float64(200) ||
		got["vct"] != "urn:tong:vct:beijing-residence:1" || got["iss"] != housing.IssuerURL || got["cnf_is_key"] != true {
		t.Errorf("authorization code flow result %v", got)
	}
	// Only the subject left the wallet at sign-in.
	if d, _ := got["presented"].(map[string]any)["pid"].(map[string]any); len(d) != 1 || d[issuer.SubjectClaim] != pan {
		t.Errorf("presented at sign-in %v, want only %s", got["presented"], issuer.SubjectClaim)
	}
	info, err := c.Issuer.CredentialInfo(ctx, "housing", staged.CredentialID)
	if err != nil || info == nil {
		t.Fatalf("staged credential not issued: %v", err)
	}
}
