package issuer_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/credential/statuslist"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/issuer"
)

// These tests run the issuer's rules on a real SQLite database, through
// the Service's methods, without HTTP.

const (
	slug      = "psb"
	issuerURL = "https://psb.example/issuers/psb"
	agencyDID = "did:tong:zPSB"
)

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	svc   *issuer.Service
	db    *store.DB
	clock *clock
	keys  *keys.Dir
	types map[string]*issuer.CredentialType
}

// newIssuer opens an issuer on a fresh database with the PSB agency and
// the demo types; mod adjusts the config first.
func newIssuer(t *testing.T, mod func(*issuer.Config)) *fixture {
	t.Helper()
	db, err := openDB(t.Context(), filepath.Join(t.TempDir(), "tong.db"), store.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return newIssuerOn(t, db, mod)
}

// newIssuerOn is newIssuer on an open database (of either engine).
func newIssuerOn(t *testing.T, db *store.DB, mod func(*issuer.Config)) *fixture {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	kd, err := keys.OpenDir(filepath.Join(dir, "keys"), make([]byte, keys.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kd.Create("org-psb", keys.ES256); err != nil {
		t.Fatal(err)
	}
	f := &fixture{clock: &clock{t: time.Now().UTC().Truncate(time.Second)}, keys: kd, db: db}
	cfg := issuer.Config{DB: db, Keys: kd, Secret: make([]byte, 32), Now: f.clock.Now}
	if mod != nil {
		mod(&cfg)
	}
	if f.svc, err = issuer.New(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AddAgency(ctx, issuer.Agency{Slug: slug, Name: "Public Security Bureau", IssuerURL: issuerURL, DID: agencyDID,
		KeyName: "org-psb", KeyID: agencyDID + "#key-1"}); err != nil {
		t.Fatal(err)
	}
	f.types, _ = issuer.DemoTypes()
	for _, id := range []string{"citizen-identity", "beijing-residence"} {
		if err := f.svc.PutType(ctx, slug, "test", f.types[id]); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// offer creates a citizen-identity offer and returns it with its
// pre-authorized code, as the wallet reads it from the offer object.
func (f *fixture) offer(t *testing.T, typeID string) (*issuer.Offer, string) {
	t.Helper()
	o, err := f.svc.CreateOffer(t.Context(), slug, "officer", issuer.OfferRequest{Type: typeID, Claims: f.types[typeID].ExampleClaims})
	if err != nil {
		t.Fatalf("CreateOffer(%s) = %v", typeID, err)
	}
	obj, err := f.svc.CredentialOfferObject(t.Context(), slug, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	return o, obj.Grants[issuer.GrantPreAuthorizedCode].PreAuthorizedCode
}

func (f *fixture) token(t *testing.T, code, pin string) (*issuer.TokenResponse, error) {
	t.Helper()
	return f.svc.Token(t.Context(), slug, issuer.TokenRequest{GrantType: issuer.GrantPreAuthorizedCode, PreAuthorizedCode: code, TxCode: pin, TxCodeSent: true})
}

// redeemed creates an offer and redeems it.
func (f *fixture) redeemed(t *testing.T, typeID string) (*issuer.Offer, *issuer.TokenResponse) {
	t.Helper()
	o, code := f.offer(t, typeID)
	tok, err := f.token(t, code, o.TxCode)
	if err != nil {
		t.Fatalf("Token = %v", err)
	}
	return o, tok
}

func holderKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// proofJWT signs an OpenID4VCI key proof; header and claims override the
// defaults (nil deletes).
func proofJWT(t *testing.T, k crypto.Signer, nonce string, iat time.Time, header, claims map[string]any) string {
	t.Helper()
	jwk, err := jose.PublicJWK(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]any{"alg": "ES256", "typ": issuer.TypProof, "jwk": jwk}
	c := map[string]any{"aud": issuerURL, "iat": iat.Unix(), "nonce": nonce}
	for k, v := range header {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	payload, _ := json.Marshal(c)
	s, err := jose.Sign(k, h, payload)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func proofs(jwts ...string) json.RawMessage {
	raw, _ := json.Marshal(map[string][]string{"jwt": jwts})
	return raw
}

// TestNewConfig: New refuses configs it cannot run with.
func TestNewConfig(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := openDB(ctx, filepath.Join(t.TempDir(), "tong.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	kd, _ := keys.OpenDir(filepath.Join(t.TempDir(), "keys"), make([]byte, keys.MasterKeySize))
	for _, tc := range []struct {
		name string
		cfg  issuer.Config
	}{
		{"no database", issuer.Config{Keys: kd, Secret: make([]byte, 32)}},
		{"no keys", issuer.Config{DB: db, Secret: make([]byte, 32)}},
		{"short secret", issuer.Config{DB: db, Keys: kd, Secret: make([]byte, 16)}},
		{"batch too large", issuer.Config{DB: db, Keys: kd, Secret: make([]byte, 32), BatchSize: 101}},
		{"status list too small for herd privacy", issuer.Config{DB: db, Keys: kd, Secret: make([]byte, 32), StatusListSize: 1024}},
	} {
		if _, err := issuer.New(ctx, tc.cfg); err == nil {
			t.Errorf("New(%s) = nil error", tc.name)
		}
	}
	s, err := issuer.New(ctx, issuer.Config{DB: db, Keys: kd, Secret: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if s.BatchSize() != issuer.DefaultBatchSize || s.StatusTTL() != issuer.DefaultStatusTTL {
		t.Errorf("defaults: batch %d, status ttl %v", s.BatchSize(), s.StatusTTL())
	}
}

func TestAddAgency(t *testing.T) {
	t.Parallel()
	f := newIssuer(t, func(c *issuer.Config) { c.AllowLoopbackHTTP = true })
	if _, err := f.keys.Create("org-housing", keys.ES256); err != nil {
		t.Fatal(err)
	}
	good := issuer.Agency{Slug: "housing", Name: "Housing Commission", IssuerURL: "https://housing.example/issuers/housing", DID: "did:tong:zH", KeyName: "org-housing", KeyID: "did:tong:zH#key-1"}
	for _, tc := range []struct {
		name string
		mod  func(a *issuer.Agency)
		want issuer.Code // "" for a non-coded error
		ok   bool
	}{
		{name: "bad slug", mod: func(a *issuer.Agency) { a.Slug = "Housing!" }, want: issuer.CodeInvalidRequest},
		{name: "no DID", mod: func(a *issuer.Agency) { a.DID = "" }, want: issuer.CodeInvalidRequest},
		{name: "http off loopback", mod: func(a *issuer.Agency) { a.IssuerURL = "http://housing.example/issuers/housing" }, want: issuer.CodeInvalidRequest},
		{name: "path is not /issuers/<slug>", mod: func(a *issuer.Agency) { a.IssuerURL = "https://housing.example/housing" }, want: issuer.CodeInvalidRequest},
		{name: "query in the issuer URL", mod: func(a *issuer.Agency) { a.IssuerURL += "?x=1" }, want: issuer.CodeInvalidRequest},
		{name: "unknown key", mod: func(a *issuer.Agency) { a.KeyName = "nope" }},
		{name: "the slug of an existing agency", mod: func(a *issuer.Agency) { a.Slug, a.IssuerURL = slug, issuerURL }, want: issuer.CodeConflict},
		{name: "http on loopback in demo mode", mod: func(a *issuer.Agency) { a.IssuerURL = "http://127.0.0.1:8080/issuers/housing" }, ok: true},
	} {
		a := good
		tc.mod(&a)
		err := f.svc.AddAgency(t.Context(), a)
		if tc.ok != (err == nil) || issuer.CodeOf(err) != tc.want {
			t.Errorf("AddAgency(%s) = %v, want ok %v, code %q", tc.name, err, tc.ok, tc.want)
		}
	}
	got, err := f.svc.Agency(t.Context(), "housing")
	if err != nil || got.IssuerURL != "http://127.0.0.1:8080/issuers/housing" || got.Signer() == nil {
		t.Errorf("Agency(housing) = %+v, %v", got, err)
	}
	if _, err := f.svc.Agency(t.Context(), "nobody"); issuer.CodeOf(err) != issuer.CodeNotFound {
		t.Errorf("Agency(nobody) = %v, want %s", err, issuer.CodeNotFound)
	}
	all, err := f.svc.Agencies(t.Context())
	if err != nil || len(all) != 2 {
		t.Errorf("Agencies() = %d, %v, want 2", len(all), err)
	}
}

func TestPutType(t *testing.T) {
	t.Parallel()
	f := newIssuer(t, nil)
	ctx := t.Context()
	if _, err := f.keys.Create("org-housing", keys.ES256); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AddAgency(ctx, issuer.Agency{Slug: "housing", Name: "Housing", IssuerURL: "https://housing.example/issuers/housing", DID: "did:tong:zH", KeyName: "org-housing", KeyID: "did:tong:zH#k"}); err != nil {
		t.Fatal(err)
	}
	// A vct another agency defined first is not ours to issue.
	stolen := *f.types["citizen-identity"]
	stolen.ID = "my-identity"
	if err := f.svc.PutType(ctx, "housing", "x", &stolen); issuer.CodeOf(err) != issuer.CodeVCTTaken {
		t.Errorf("PutType(another agency's vct) = %v, want %s", err, issuer.CodeVCTTaken)
	}
	// Nor a vct under another agency's issuer URL.
	under := *f.types["beijing-residence"]
	under.ID, under.VCT = "residence2", issuerURL+"/types/residence2"
	if err := f.svc.PutType(ctx, "housing", "x", &under); issuer.CodeOf(err) != issuer.CodeVCTTaken {
		t.Errorf("PutType(vct under the PSB's URL) = %v, want %s", err, issuer.CodeVCTTaken)
	}
	bad := *f.types["beijing-residence"]
	bad.ID = "Not An ID"
	if err := f.svc.PutType(ctx, slug, "x", &bad); issuer.CodeOf(err) != issuer.CodeInvalidType {
		t.Errorf("PutType(bad id) = %v, want %s", err, issuer.CodeInvalidType)
	}
	types, err := f.svc.Types(ctx, slug)
	if err != nil || len(types) != 2 || types["citizen-identity"] == nil {
		t.Errorf("Types(psb) = %v, %v", types, err)
	}
	if _, err := f.svc.Type(ctx, slug, "nope"); issuer.CodeOf(err) != issuer.CodeUnknownType {
		t.Errorf("Type(nope) = %v, want %s", err, issuer.CodeUnknownType)
	}
}

func TestCreateOffer(t *testing.T) {
	t.Parallel()
	f := newIssuer(t, nil)
	ctx := t.Context()
	claims := f.types["citizen-identity"].ExampleClaims
	for _, tc := range []struct {
		name string
		slug string
		req  issuer.OfferRequest
		want issuer.Code
	}{
		{"unknown type", slug, issuer.OfferRequest{Type: "passport", Claims: claims}, issuer.CodeUnknownType},
		{"unknown agency", "nobody", issuer.OfferRequest{Type: "citizen-identity", Claims: claims}, issuer.CodeNotFound},
		{"claims the type refuses", slug, issuer.OfferRequest{Type: "citizen-identity", Claims: map[string]any{"blood_type": "O"}}, issuer.CodeInvalidClaims},
		{"expires too soon", slug, issuer.OfferRequest{Type: "citizen-identity", Claims: claims, ExpiresIn: 59}, issuer.CodeInvalidRequest},
		{"expires too late", slug, issuer.OfferRequest{Type: "citizen-identity", Claims: claims, ExpiresIn: int(issuer.MaxOfferTTL/time.Second) + 1}, issuer.CodeInvalidRequest},
	} {
		if _, err := f.svc.CreateOffer(ctx, tc.slug, "officer", tc.req); issuer.CodeOf(err) != tc.want {
			t.Errorf("CreateOffer(%s) = %v, want %s", tc.name, err, tc.want)
		}
	}
	o, err := f.svc.CreateOffer(ctx, slug, "officer", issuer.OfferRequest{Type: "citizen-identity", Claims: claims, ExpiresIn: 600})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.TxCode) != issuer.TxCodeLength || strings.Trim(o.TxCode, "0123456789") != "" {
		t.Errorf("TxCode = %q, want %d digits", o.TxCode, issuer.TxCodeLength)
	}
	if want := issuer.OfferURI(issuerURL + "/offers/" + o.ID); o.OfferURI != want || !strings.HasPrefix(o.OfferURI, issuer.OfferScheme+"?credential_offer_uri=https%3A%2F%2F") {
		t.Errorf("OfferURI = %q, want %q", o.OfferURI, want)
	}
	if !o.ExpiresAt.Equal(f.clock.Now().Add(10 * time.Minute)) {
		t.Errorf("ExpiresAt = %v, want now + 600 s", o.ExpiresAt)
	}
	obj, err := f.svc.CredentialOfferObject(ctx, slug, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	g := obj.Grants[issuer.GrantPreAuthorizedCode]
	if obj.CredentialIssuer != issuerURL || len(obj.CredentialConfigurationIDs) != 1 || obj.CredentialConfigurationIDs[0] != "citizen-identity" ||
		g.PreAuthorizedCode != o.PreAuthorizedCode || g.TxCode == nil || g.TxCode.Length != issuer.TxCodeLength || g.TxCode.InputMode != "numeric" {
		t.Errorf("CredentialOfferObject = %+v, grant %+v", obj, g)
	}
	if _, err := f.svc.CredentialOfferObject(ctx, slug, "nope"); issuer.CodeOf(err) != issuer.CodeNotFound {
		t.Errorf("CredentialOfferObject(nope) = %v, want %s", err, issuer.CodeNotFound)
	}
	if _, err := f.svc.CredentialOfferObject(ctx, "nobody", o.ID); err == nil {
		t.Error("CredentialOfferObject(another agency's offer) = nil error")
	}
}

// TestTokenTxCodeTries: a wrong tx_code counts; the MaxTxTries-th wrong
// one locks the offer, after which even the right one is refused.
func TestTokenTxCodeTries(t *testing.T) {
	t.Parallel()
	f := newIssuer(t, func(c *issuer.Config) { c.MaxTxTries = 3 })
	o, code := f.offer(t, "citizen-identity")
	wrong := "000000"
	if wrong == o.TxCode {
		wrong = "111111"
	}
	for i, want := range []string{"2 of 3 attempts left", "1 of 3 attempts left", "now locked"} {
		_, err := f.token(t, code, wrong)
		if issuer.CodeOf(err) != issuer.CodeInvalidGrant || !strings.Contains(err.Error(), want) {
			t.Fatalf("Token(wrong tx_code #%d) = %v, want invalid_grant, %q", i+1, err, want)
		}
	}
	if _, err := f.token(t, code, o.TxCode); issuer.CodeOf(err) != issuer.CodeInvalidGrant || !strings.Contains(err.Error(), "locked") {
		t.Errorf("Token(right tx_code after lock) = %v, want invalid_grant (locked)", err)
	}
	// Another offer is not affected, and a right tx_code after a wrong
	// one still works.
	o2, code2 := f.offer(t, "citizen-identity")
	if _, err := f.token(t, code2, wrong+"0"); issuer.CodeOf(err) != issuer.CodeInvalidGrant {
		t.Fatalf("Token(wrong) = %v", err)
	}
	if _, err := f.token(t, code2, o2.TxCode); err != nil {
		t.Errorf("Token(right tx_code after one wrong) = %v", err)
	}
}

func TestTokenRequests(t *testing.T) {
	t.Parallel()
	f := newIssuer(t, nil)
	o, code := f.offer(t, "citizen-identity")
	// A second agency, whose token endpoint must not take the first's code.
	if _, err := f.keys.Create("org-housing", keys.ES256); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AddAgency(t.Context(), issuer.Agency{Slug: "housing", Name: "Housing", IssuerURL: "https://housing.example/issuers/housing", DID: "did:tong:zH", KeyName: "org-housing", KeyID: "did:tong:zH#k"}); err != nil {
		t.Fatal(err)
	}
	// forge changes one character in the middle, where every base64
	// character carries six bits of the code. (Changing the last two to
	// "AA" left the code unchanged about once in a thousand runs: the last
	// character holds only four bits, and they may be zero.)
	forge := func(c string) string {
		b := []byte(c)
		if i := len(b) / 2; b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for _, tc := range []struct {
		name string
		slug string
		req  issuer.TokenRequest
		want issuer.Code
	}{
		{"authorization_code grant", slug, issuer.TokenRequest{GrantType: "authorization_code", PreAuthorizedCode: code, TxCode: o.TxCode, TxCodeSent: true}, issuer.CodeUnsupportedGrantType},
		{"no code", slug, issuer.TokenRequest{GrantType: issuer.GrantPreAuthorizedCode, TxCode: o.TxCode, TxCodeSent: true}, issuer.CodeInvalidRequest},
		{"no tx_code", slug, issuer.TokenRequest{GrantType: issuer.GrantPreAuthorizedCode, PreAuthorizedCode: code}, issuer.CodeInvalidRequest},
		{"forged code", slug, issuer.TokenRequest{GrantType: issuer.GrantPreAuthorizedCode, PreAuthorizedCode: forge(code), TxCode: o.TxCode, TxCodeSent: true}, issuer.CodeInvalidGrant},
		{"garbage code", slug, issuer.TokenRequest{GrantType: issuer.GrantPreAuthorizedCode, PreAuthorizedCode: "not a code", TxCode: o.TxCode, TxCodeSent: true}, issuer.CodeInvalidGrant},
		{"another agency's endpoint", "housing", issuer.TokenRequest{GrantType: issuer.GrantPreAuthorizedCode, PreAuthorizedCode: code, TxCode: o.TxCode, TxCodeSent: true}, issuer.CodeInvalidGrant},
		{"an agency that does not exist", "nobody", issuer.TokenRequest{GrantType: issuer.GrantPreAuthorizedCode, PreAuthorizedCode: code, TxCode: o.TxCode, TxCodeSent: true}, issuer.CodeNotFound},
		{"refresh with garbage", slug, issuer.TokenRequest{GrantType: issuer.GrantRefreshToken, RefreshToken: "x"}, issuer.CodeInvalidGrant},
	} {
		if _, err := f.svc.Token(t.Context(), tc.slug, tc.req); issuer.CodeOf(err) != tc.want {
			t.Errorf("Token(%s) = %v, want %s", tc.name, err, tc.want)
		}
	}
	tok, err := f.token(t, code, o.TxCode)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.ExpiresIn != int(issuer.DefaultAccessTokenTTL/time.Second) || tok.RefreshToken == "" ||
		len(tok.AuthorizationDetails) != 1 || tok.AuthorizationDetails[0].CredentialIdentifiers[0] != o.CredentialID {
		t.Errorf("Token = %+v", tok)
	}
	// A pre-authorized code works once.
	if _, err := f.token(t, code, o.TxCode); issuer.CodeOf(err) != issuer.CodeInvalidGrant || !strings.Contains(err.Error(), "already used") {
		t.Errorf("Token(code again) = %v, want invalid_grant (already used)", err)
	}
	// An offer that expired cannot be redeemed.
	o2, code2 := f.offer(t, "citizen-identity")
	f.clock.Add(issuer.DefaultOfferTTL)
	if _, err := f.token(t, code2, o2.TxCode); issuer.CodeOf(err) != issuer.CodeInvalidGrant || !strings.Contains(err.Error(), "expired") {
		t.Errorf("Token(expired offer) = %v, want invalid_grant (expired)", err)
	}
}

// TestCredentialBatch: one request with N proofs gives N copies, each
// bound to its own key, with its own status entry, and no more.
func TestCredentialBatch(t *testing.T) {
	t.Parallel()
	f := newIssuer(t, func(c *issuer.Config) { c.BatchSize = 3 })
	o, tok := f.redeemed(t, "citizen-identity")
	var jwts []string
	var holders []*ecdsa.PrivateKey
	for range 3 {
		k := holderKey(t)
		holders = append(holders, k)
		jwts = append(jwts, proofJWT(t, k, f.svc.Nonce(), f.clock.Now(), nil, nil))
	}
	resp, status, err := f.svc.Credential(t.Context(), slug, tok.AccessToken, "", &issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", Proofs: proofs(jwts...)})
	if err != nil || status != 200 {
		t.Fatalf("Credential = %d, %v", status, err)
	}
	if len(resp.Credentials) != 3 || resp.NotificationID == "" {
		t.Fatalf("Credential gave %d credentials, notification %q", len(resp.Credentials), resp.NotificationID)
	}
	idx := map[int]bool{}
	for i, c := range resp.Credentials {
		sd, err := credential.Parse(c.Credential)
		if err != nil {
			t.Fatal(err)
		}
		claims, err := sd.Process()
		if err != nil {
			t.Fatal(err)
		}
		if claims["iss"] != issuerURL || claims["vct"] != f.types["citizen-identity"].VCT {
			t.Errorf("copy %d: iss %v, vct %v", i, claims["iss"], claims["vct"])
		}
		for k, want := range f.types["citizen-identity"].ExampleClaims {
			if got, _ := json.Marshal(claims[k]); string(got) != mustJSON(t, want) {
				t.Errorf("copy %d: %s = %s, want %s", i, k, got, mustJSON(t, want))
			}
		}
		jwk, _ := json.Marshal(claims["cnf"].(map[string]any)["jwk"])
		pub, err := jose.ParsePublicJWK(jwk)
		if err != nil || !pub.(*ecdsa.PublicKey).Equal(&holders[i].PublicKey) {
			t.Errorf("copy %d is bound to %v, want holder key %d", i, pub, i)
		}
		st := claims["status"].(map[string]any)["status_list"].(map[string]any)
		idx[num(t, st["idx"])] = true
		if !strings.HasPrefix(st["uri"].(string), issuerURL+"/status/") {
			t.Errorf("copy %d status uri %v", i, st["uri"])
		}
	}
	if len(idx) != 3 {
		t.Errorf("status indexes %v, want 3 different ones", idx)
	}
	info, err := f.svc.CredentialInfo(t.Context(), slug, o.CredentialID)
	if err != nil || info.Copies != 3 || info.Status != issuer.StatusValid || info.Type != "citizen-identity" {
		t.Errorf("CredentialInfo = %+v, %v", info, err)
	}
	// The access token was for one credential request.
	_, _, err = f.svc.Credential(t.Context(), slug, tok.AccessToken, "", &issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity",
		Proofs: proofs(proofJWT(t, holderKey(t), f.svc.Nonce(), f.clock.Now(), nil, nil))})
	if issuer.CodeOf(err) != issuer.CodeInvalidToken {
		t.Errorf("Credential(token again) = %v, want %s", err, issuer.CodeInvalidToken)
	}
}

// num reads a JSON number from processed claims.
func num(t *testing.T, v any) int {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is not a JSON number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return int(i)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestNonceSingleUse: a c_nonce is spent by the request that uses it; a
// later proof with it is refused, as is an expired or forged one.
func TestNonceSingleUse(t *testing.T) {
	t.Parallel()
	f := newIssuer(t, nil)
	nonce := f.svc.Nonce()
	_, tok := f.redeemed(t, "citizen-identity")
	req := func(tok string, nonce string) error {
		_, _, err := f.svc.Credential(t.Context(), slug, tok, "", &issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity",
			Proofs: proofs(proofJWT(t, holderKey(t), nonce, f.clock.Now(), nil, nil))})
		return err
	}
	if err := req(tok.AccessToken, nonce); err != nil {
		t.Fatal(err)
	}
	_, tok2 := f.redeemed(t, "citizen-identity")
	if err := req(tok2.AccessToken, nonce); issuer.CodeOf(err) != issuer.CodeInvalidNonce {
		t.Errorf("Credential(spent nonce) = %v, want %s", err, issuer.CodeInvalidNonce)
	}
	// The refused request spent nothing: the token still works.
	if err := req(tok2.AccessToken, f.svc.Nonce()); err != nil {
		t.Errorf("Credential(fresh nonce after a refusal) = %v", err)
	}
	old := f.svc.Nonce()
	f.clock.Add(issuer.DefaultNonceTTL + time.Second)
	_, tok3 := f.redeemed(t, "citizen-identity")
	if err := req(tok3.AccessToken, old); issuer.CodeOf(err) != issuer.CodeInvalidNonce {
		t.Errorf("Credential(expired nonce) = %v, want %s", err, issuer.CodeInvalidNonce)
	}
	// One c_nonce serves every proof of one request (a batch), and is
	// spent by it.
	_, tok4 := f.redeemed(t, "citizen-identity")
	n := f.svc.Nonce()
	resp, _, err := f.svc.Credential(t.Context(), slug, tok4.AccessToken, "", &issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity",
		Proofs: proofs(proofJWT(t, holderKey(t), n, f.clock.Now(), nil, nil), proofJWT(t, holderKey(t), n, f.clock.Now(), nil, nil))})
	if err != nil || len(resp.Credentials) != 2 {
		t.Fatalf("Credential(two proofs, one nonce) = %v, want two copies", err)
	}
	_, tok5 := f.redeemed(t, "citizen-identity")
	if err := req(tok5.AccessToken, n); issuer.CodeOf(err) != issuer.CodeInvalidNonce {
		t.Errorf("Credential(nonce spent by a batch) = %v, want %s", err, issuer.CodeInvalidNonce)
	}
}

// TestCredentialRequestRefusals: each malformed request or proof gets the
// OpenID4VCI 1.0 §8.3.1.2 code, and spends neither token nor nonce.
func TestCredentialRequestRefusals(t *testing.T) {
	t.Parallel()
	f := newIssuer(t, func(c *issuer.Config) { c.BatchSize = 2 })
	o, tok := f.redeemed(t, "citizen-identity")
	now := f.clock.Now()
	k := holderKey(t)
	good := func() string { return proofJWT(t, k, f.svc.Nonce(), now, nil, nil) }
	for _, tc := range []struct {
		name string
		req  issuer.CredentialRequest
		want issuer.Code
	}{
		{"no proofs", issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity"}, issuer.CodeInvalidProof},
		{"singular proof", issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", Proof: json.RawMessage(`{}`)}, issuer.CodeInvalidCredentialRequest},
		{"neither id", issuer.CredentialRequest{Proofs: proofs(good())}, issuer.CodeInvalidCredentialRequest},
		{"both ids", issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", CredentialIdentifier: o.CredentialID, Proofs: proofs(good())}, issuer.CodeInvalidCredentialRequest},
		{"another configuration", issuer.CredentialRequest{CredentialConfigurationID: "beijing-residence", Proofs: proofs(good())}, issuer.CodeUnknownCredentialConfiguration},
		{"another identifier", issuer.CredentialRequest{CredentialIdentifier: "cred_other", Proofs: proofs(good())}, issuer.CodeUnknownCredentialIdentifier},
		{"response encryption", issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", Proofs: proofs(good()), CredentialResponseEncryption: json.RawMessage(`{"alg":"ECDH-ES"}`)}, issuer.CodeInvalidCredentialRequest},
		{"more proofs than batch_size", issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", Proofs: proofs(good(), proofJWT(t, holderKey(t), f.svc.Nonce(), now, nil, nil), proofJWT(t, holderKey(t), f.svc.Nonce(), now, nil, nil))}, issuer.CodeInvalidCredentialRequest},
		{"the same key twice", issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", Proofs: proofs(good(), good())}, issuer.CodeInvalidProof},
		{"proofs not jwt", issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", Proofs: json.RawMessage(`{"ldp_vp":["x"]}`)}, issuer.CodeInvalidProof},
		{"proof not a JWS", issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", Proofs: proofs("a.b")}, issuer.CodeInvalidProof},
		{"wrong typ", issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", Proofs: proofs(proofJWT(t, k, f.svc.Nonce(), now, map[string]any{"typ": "JWT"}, nil))}, issuer.CodeInvalidProof},
		{"kid instead of jwk", issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", Proofs: proofs(proofJWT(t, k, f.svc.Nonce(), now, map[string]any{"jwk": nil, "kid": "did:key:z#0"}, nil))}, issuer.CodeInvalidProof},
		{"another audience", issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", Proofs: proofs(proofJWT(t, k, f.svc.Nonce(), now, nil, map[string]any{"aud": "https://evil.example"}))}, issuer.CodeInvalidProof},
		{"no iat", issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", Proofs: proofs(proofJWT(t, k, f.svc.Nonce(), now, nil, map[string]any{"iat": nil}))}, issuer.CodeInvalidProof},
		{"iat in the future", issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", Proofs: proofs(proofJWT(t, k, f.svc.Nonce(), now.Add(issuer.Skew+time.Minute), nil, nil))}, issuer.CodeInvalidProof},
		{"iat too old", issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", Proofs: proofs(proofJWT(t, k, f.svc.Nonce(), now.Add(-issuer.DefaultProofMaxAge-issuer.Skew-time.Minute), nil, nil))}, issuer.CodeInvalidProof},
		{"no nonce", issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", Proofs: proofs(proofJWT(t, k, "", now, nil, nil))}, issuer.CodeInvalidNonce},
		{"forged nonce", issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", Proofs: proofs(proofJWT(t, k, "bm9wZQ", now, nil, nil))}, issuer.CodeInvalidNonce},
	} {
		_, _, err := f.svc.Credential(t.Context(), slug, tok.AccessToken, "", &tc.req)
		if got := issuer.CodeOf(err); got != tc.want {
			t.Errorf("Credential(%s) = %v, want %s", tc.name, err, tc.want)
		}
	}
	// None of the refusals spent the token.
	resp, _, err := f.svc.Credential(t.Context(), slug, tok.AccessToken, "", &issuer.CredentialRequest{CredentialIdentifier: o.CredentialID, Proofs: proofs(good())})
	if err != nil || len(resp.Credentials) != 1 {
		t.Errorf("Credential after refusals = %v", err)
	}
	for _, tc := range []struct{ name, slug, token string }{
		{"forged token", slug, "x" + tok.AccessToken},
		{"another agency", "housing", tok.AccessToken},
	} {
		if _, _, err := f.svc.Credential(t.Context(), tc.slug, tc.token, "", &issuer.CredentialRequest{}); issuer.CodeOf(err) != issuer.CodeInvalidToken {
			t.Errorf("Credential(%s) = %v, want %s", tc.name, err, issuer.CodeInvalidToken)
		}
	}
	_, tok2 := f.redeemed(t, "citizen-identity")
	f.clock.Add(issuer.DefaultAccessTokenTTL)
	if _, _, err := f.svc.Credential(t.Context(), slug, tok2.AccessToken, "", &issuer.CredentialRequest{}); issuer.CodeOf(err) != issuer.CodeInvalidToken {
		t.Errorf("Credential(expired token) = %v, want %s", err, issuer.CodeInvalidToken)
	}
}

func dpopProof(t *testing.T, k crypto.Signer, htm, htu, accessToken string, iat time.Time, typ string) string {
	t.Helper()
	jwk, _ := jose.PublicJWK(k.Public())
	c := map[string]any{"jti": base64.RawURLEncoding.EncodeToString([]byte(iat.String() + htu)), "htm": htm, "htu": htu, "iat": iat.Unix()}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		c["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	payload, _ := json.Marshal(c)
	s, err := jose.Sign(k, map[string]any{"alg": "ES256", "typ": typ, "jwk": jwk}, payload)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDPoP: a DPoP proof is checked against the request and spent once;
// a token bound to its key needs a proof by that key.
func TestDPoP(t *testing.T) {
	t.Parallel()
	f := newIssuer(t, nil)
	k := holderKey(t)
	now := f.clock.Now()
	htu := issuerURL + "/token"
	for _, tc := range []struct {
		name                  string
		proof                 string
		htm, htu, accessToken string
	}{
		{"wrong typ", dpopProof(t, k, "POST", htu, "", now, "JWT"), "POST", htu, ""},
		{"wrong method", dpopProof(t, k, "GET", htu, "", now, issuer.TypDPoP), "POST", htu, ""},
		{"wrong URL", dpopProof(t, k, "POST", htu+"x", "", now, issuer.TypDPoP), "POST", htu, ""},
		{"too old", dpopProof(t, k, "POST", htu, "", now.Add(-time.Hour), issuer.TypDPoP), "POST", htu, ""},
		{"no ath for a token", dpopProof(t, k, "POST", htu, "", now, issuer.TypDPoP), "POST", htu, "tok"},
		{"ath of another token", dpopProof(t, k, "POST", htu, "other", now, issuer.TypDPoP), "POST", htu, "tok"},
		{"not a JWS", "x.y.z", "POST", htu, ""},
	} {
		if _, err := f.svc.VerifyDPoP(tc.proof, tc.htm, tc.htu, tc.accessToken); issuer.CodeOf(err) != issuer.CodeInvalidDPoPProof {
			t.Errorf("VerifyDPoP(%s) = %v, want %s", tc.name, err, issuer.CodeInvalidDPoPProof)
		}
	}
	proof := dpopProof(t, k, "POST", htu, "", now, issuer.TypDPoP)
	d, err := f.svc.VerifyDPoP(proof, "POST", htu, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SpendDPoP(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	d2, _ := f.svc.VerifyDPoP(proof, "POST", htu, "")
	if err := f.svc.SpendDPoP(t.Context(), d2); issuer.CodeOf(err) != issuer.CodeInvalidDPoPProof {
		t.Errorf("SpendDPoP(the same proof again) = %v, want %s", err, issuer.CodeInvalidDPoPProof)
	}

	o, code := f.offer(t, "citizen-identity")
	tok, err := f.svc.Token(t.Context(), slug, issuer.TokenRequest{GrantType: issuer.GrantPreAuthorizedCode, PreAuthorizedCode: code, TxCode: o.TxCode, TxCodeSent: true, DPoPKey: d.JKT})
	if err != nil || tok.TokenType != "DPoP" {
		t.Fatalf("Token(DPoP) = %+v, %v", tok, err)
	}
	req := &issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity", Proofs: proofs(proofJWT(t, k, f.svc.Nonce(), now, nil, nil))}
	for _, jkt := range []string{"", "another-thumbprint"} {
		if _, _, err := f.svc.Credential(t.Context(), slug, tok.AccessToken, jkt, req); issuer.CodeOf(err) != issuer.CodeInvalidToken {
			t.Errorf("Credential(DPoP token, key %q) = %v, want %s", jkt, err, issuer.CodeInvalidToken)
		}
	}
	if _, _, err := f.svc.Credential(t.Context(), slug, tok.AccessToken, d.JKT, req); err != nil {
		t.Errorf("Credential(DPoP token with its key) = %v", err)
	}
	// The refresh token is bound to the key too.
	if _, err := f.svc.Token(t.Context(), slug, issuer.TokenRequest{GrantType: issuer.GrantRefreshToken, RefreshToken: tok.RefreshToken}); issuer.CodeOf(err) != issuer.CodeInvalidGrant {
		t.Errorf("Token(DPoP-bound refresh without the key) = %v, want %s", err, issuer.CodeInvalidGrant)
	}
}

// TestStatusChanges: suspend, unsuspend and revoke move every copy's
// entry in the status list; revocation is final.
func TestStatusChanges(t *testing.T) {
	t.Parallel()
	f := newIssuer(t, nil)
	o, tok := f.redeemed(t, "citizen-identity")
	resp, _, err := f.svc.Credential(t.Context(), slug, tok.AccessToken, "", &issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity",
		Proofs: proofs(proofJWT(t, holderKey(t), f.svc.Nonce(), f.clock.Now(), nil, nil))})
	if err != nil {
		t.Fatal(err)
	}
	sd, _ := credential.Parse(resp.Credentials[0].Credential)
	claims, _ := sd.Process()
	ref := claims["status"].(map[string]any)["status_list"].(map[string]any)
	uri, idx := ref["uri"].(string), num(t, ref["idx"])
	listID := uri[strings.LastIndex(uri, "/")+1:]
	a, _ := f.svc.Agency(t.Context(), slug)
	statusNow := func() byte {
		t.Helper()
		tokStr, err := f.svc.StatusListToken(t.Context(), slug, listID)
		if err != nil {
			t.Fatal(err)
		}
		lt, err := statuslist.ParseToken(tokStr, uri, a.Signer().Public(), f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		v, err := lt.List.Get(idx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, step := range []struct {
		status string
		want   issuer.Code
		list   byte
	}{
		{issuer.StatusSuspended, "", statuslist.Suspended},
		{issuer.StatusSuspended, "", statuslist.Suspended}, // again: no change
		{issuer.StatusValid, "", statuslist.Valid},
		{"expired", issuer.CodeInvalidRequest, statuslist.Valid},
		{issuer.StatusRevoked, "", statuslist.Invalid},
		{issuer.StatusValid, issuer.CodeConflict, statuslist.Invalid},
		{issuer.StatusSuspended, issuer.CodeConflict, statuslist.Invalid},
	} {
		info, err := f.svc.SetStatus(t.Context(), slug, "officer", o.CredentialID, step.status)
		if issuer.CodeOf(err) != step.want {
			t.Fatalf("SetStatus(%s) = %v, want %q", step.status, err, step.want)
		}
		if err == nil && info.Status != step.status {
			t.Errorf("SetStatus(%s) left status %s", step.status, info.Status)
		}
		if got := statusNow(); got != step.list {
			t.Errorf("after SetStatus(%s), list entry = %d, want %d", step.status, got, step.list)
		}
	}
	if _, err := f.svc.SetStatus(t.Context(), slug, "officer", "cred_nope", issuer.StatusRevoked); issuer.CodeOf(err) != issuer.CodeNotFound {
		t.Errorf("SetStatus(unknown) = %v, want %s", err, issuer.CodeNotFound)
	}
	if _, err := f.svc.StatusListToken(t.Context(), slug, "nope"); issuer.CodeOf(err) != issuer.CodeNotFound {
		t.Errorf("StatusListToken(unknown) = %v, want %s", err, issuer.CodeNotFound)
	}
	// A revoked credential is not refreshed.
	if _, err := f.svc.Token(t.Context(), slug, issuer.TokenRequest{GrantType: issuer.GrantRefreshToken, RefreshToken: tok.RefreshToken}); issuer.CodeOf(err) != issuer.CodeInvalidGrant {
		t.Errorf("Token(refresh of a revoked credential) = %v, want %s", err, issuer.CodeInvalidGrant)
	}
	list, err := f.svc.Credentials(t.Context(), slug, 10)
	if err != nil || len(list) != 1 || list[0].Status != issuer.StatusRevoked {
		t.Errorf("Credentials = %+v, %v", list, err)
	}
	audit, err := f.svc.Audit(t.Context(), slug, 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range audit {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"offer.create", "offer.redeem", "credential.suspend", "credential.unsuspend", "credential.revoke"} {
		if !strings.Contains(strings.Join(actions, " "), want) {
			t.Errorf("audit %v lacks %s", actions, want)
		}
	}
}

// TestRefreshRotation: a refresh token gives fresh copies once; reusing
// an old one revokes the whole family (RFC 9700 §4.14.2).
func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	f := newIssuer(t, nil)
	_, tok := f.redeemed(t, "citizen-identity")
	issue := func(access string) error {
		_, _, err := f.svc.Credential(t.Context(), slug, access, "", &issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity",
			Proofs: proofs(proofJWT(t, holderKey(t), f.svc.Nonce(), f.clock.Now(), nil, nil))})
		return err
	}
	if err := issue(tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	refresh := func(rt string) (*issuer.TokenResponse, error) {
		return f.svc.Token(t.Context(), slug, issuer.TokenRequest{GrantType: issuer.GrantRefreshToken, RefreshToken: rt})
	}
	r1, err := refresh(tok.RefreshToken)
	if err != nil || r1.RefreshToken == tok.RefreshToken {
		t.Fatalf("Token(refresh) = %+v, %v, want a new refresh token", r1, err)
	}
	if err := issue(r1.AccessToken); err != nil {
		t.Fatalf("Credential(refreshed token) = %v", err)
	}
	if err := issue(r1.AccessToken); issuer.CodeOf(err) != issuer.CodeInvalidToken {
		t.Errorf("Credential(refreshed token again) = %v, want %s", err, issuer.CodeInvalidToken)
	}
	// The old refresh token again: a reuse, so neither works any more.
	if _, err := refresh(tok.RefreshToken); issuer.CodeOf(err) != issuer.CodeInvalidGrant {
		t.Errorf("Token(old refresh token) = %v, want %s", err, issuer.CodeInvalidGrant)
	}
	if _, err := refresh(r1.RefreshToken); issuer.CodeOf(err) != issuer.CodeInvalidGrant {
		t.Errorf("Token(newest refresh token after a reuse) = %v, want %s", err, issuer.CodeInvalidGrant)
	}
}

// TestDeferred: a deferred type waits for an officer (202 with a
// transaction id), then issues to the keys proven at the first request.
func TestDeferred(t *testing.T) {
	t.Parallel()
	f := newIssuer(t, nil)
	def := *f.types["beijing-residence"]
	def.ID, def.VCT, def.Deferred = "residence-deferred", def.VCT+"-deferred", true
	if err := f.svc.PutType(t.Context(), slug, "test", &def); err != nil {
		t.Fatal(err)
	}
	f.types[def.ID] = &def
	o, tok := f.redeemed(t, def.ID)
	k := holderKey(t)
	resp, status, err := f.svc.Credential(t.Context(), slug, tok.AccessToken, "", &issuer.CredentialRequest{CredentialConfigurationID: def.ID,
		Proofs: proofs(proofJWT(t, k, f.svc.Nonce(), f.clock.Now(), nil, nil))})
	if err != nil || status != 202 || resp.TransactionID == "" || len(resp.Credentials) != 0 {
		t.Fatalf("Credential(deferred) = %+v, %d, %v, want 202 with a transaction_id", resp, status, err)
	}
	if _, status, err := f.svc.Deferred(t.Context(), slug, tok.AccessToken, "", resp.TransactionID); err != nil || status != 202 {
		t.Errorf("Deferred(before approval) = %d, %v, want 202", status, err)
	}
	if _, _, err := f.svc.Deferred(t.Context(), slug, tok.AccessToken, "", "tx_other"); issuer.CodeOf(err) != issuer.CodeInvalidTransactionID {
		t.Errorf("Deferred(another transaction) = %v, want %s", err, issuer.CodeInvalidTransactionID)
	}
	if err := f.svc.Approve(t.Context(), slug, "officer", "cred_nope"); issuer.CodeOf(err) != issuer.CodeNotFound {
		t.Errorf("Approve(unknown) = %v, want %s", err, issuer.CodeNotFound)
	}
	if err := f.svc.Approve(t.Context(), slug, "officer", o.CredentialID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Approve(t.Context(), slug, "officer", o.CredentialID); issuer.CodeOf(err) != issuer.CodeNotFound {
		t.Errorf("Approve(twice) = %v, want %s", err, issuer.CodeNotFound)
	}
	got, status, err := f.svc.Deferred(t.Context(), slug, tok.AccessToken, "", resp.TransactionID)
	if err != nil || status != 200 || len(got.Credentials) != 1 {
		t.Fatalf("Deferred(after approval) = %+v, %d, %v", got, status, err)
	}
	sd, _ := credential.Parse(got.Credentials[0].Credential)
	claims, _ := sd.Process()
	jwk, _ := json.Marshal(claims["cnf"].(map[string]any)["jwk"])
	if pub, err := jose.ParsePublicJWK(jwk); err != nil || !pub.(*ecdsa.PublicKey).Equal(&k.PublicKey) {
		t.Errorf("deferred credential bound to %v, want the key proven first", pub)
	}
	if _, _, err := f.svc.Deferred(t.Context(), slug, tok.AccessToken, "", resp.TransactionID); issuer.CodeOf(err) != issuer.CodeInvalidTransactionID {
		t.Errorf("Deferred(completed) = %v, want %s", err, issuer.CodeInvalidTransactionID)
	}
}

func TestNotify(t *testing.T) {
	t.Parallel()
	f := newIssuer(t, nil)
	o, tok := f.redeemed(t, "citizen-identity")
	resp, _, err := f.svc.Credential(t.Context(), slug, tok.AccessToken, "", &issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity",
		Proofs: proofs(proofJWT(t, holderKey(t), f.svc.Nonce(), f.clock.Now(), nil, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  issuer.NotificationRequest
		want issuer.Code
	}{
		{"unknown event", issuer.NotificationRequest{NotificationID: resp.NotificationID, Event: "credential_lost"}, issuer.CodeInvalidNotificationRequest},
		{"long description", issuer.NotificationRequest{NotificationID: resp.NotificationID, Event: issuer.EventFailure, EventDescription: strings.Repeat("x", 1025)}, issuer.CodeInvalidNotificationRequest},
		{"another notification id", issuer.NotificationRequest{NotificationID: "n_other", Event: issuer.EventAccepted}, issuer.CodeInvalidNotificationID},
		{"accepted", issuer.NotificationRequest{NotificationID: resp.NotificationID, Event: issuer.EventAccepted}, ""},
	} {
		if err := f.svc.Notify(t.Context(), slug, tok.AccessToken, "", tc.req); issuer.CodeOf(err) != tc.want || (tc.want == "" && err != nil) {
			t.Errorf("Notify(%s) = %v, want %q", tc.name, err, tc.want)
		}
	}
	info, _ := f.svc.CredentialInfo(t.Context(), slug, o.CredentialID)
	if info.Notified != issuer.EventAccepted {
		t.Errorf("Notified = %q, want %s", info.Notified, issuer.EventAccepted)
	}
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	f := newIssuer(t, nil)
	ctx := t.Context()
	tok, id, err := f.svc.CreateAPIToken(ctx, slug, "admin", "front desk")
	if err != nil || !strings.HasPrefix(tok, issuer.APITokenPrefix) {
		t.Fatalf("CreateAPIToken = %q, %v", tok, err)
	}
	if actor, err := f.svc.Authenticate(ctx, slug, tok); err != nil || actor == "" {
		t.Errorf("Authenticate = %q, %v", actor, err)
	}
	if ag, gotID, err := f.svc.TokenAgency(ctx, tok); err != nil || ag != slug || gotID != id {
		t.Errorf("TokenAgency = %q, %q, %v", ag, gotID, err)
	}
	for _, tc := range []struct{ name, slug, token string }{
		{"another agency", "housing", tok},
		{"forged", slug, issuer.APITokenPrefix + "nope"},
		{"empty", slug, ""},
	} {
		if _, err := f.svc.Authenticate(ctx, tc.slug, tc.token); issuer.CodeOf(err) != issuer.CodeUnauthorized {
			t.Errorf("Authenticate(%s) = %v, want %s", tc.name, err, issuer.CodeUnauthorized)
		}
	}
	if err := f.svc.RevokeAPIToken(ctx, slug, "admin", id); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, slug, tok); issuer.CodeOf(err) != issuer.CodeUnauthorized {
		t.Errorf("Authenticate(revoked) = %v, want %s", err, issuer.CodeUnauthorized)
	}
	if err := f.svc.RevokeAPIToken(ctx, slug, "admin", "nope"); issuer.CodeOf(err) != issuer.CodeNotFound {
		t.Errorf("RevokeAPIToken(unknown) = %v, want %s", err, issuer.CodeNotFound)
	}
}

// TestPurgeExpired: the claims of offers that can no longer be issued
// (expired, or redeemed by a token that has expired) are wiped, and spent
// nonces are forgotten once they have expired.
func TestPurgeExpired(t *testing.T) {
	t.Parallel()
	f := newIssuer(t, nil)
	ctx := t.Context()
	waiting, _ := f.offer(t, "citizen-identity")
	redeemed, _ := f.redeemed(t, "citizen-identity")
	_, tok := f.redeemed(t, "citizen-identity")
	if _, _, err := f.svc.Credential(ctx, slug, tok.AccessToken, "", &issuer.CredentialRequest{CredentialConfigurationID: "citizen-identity",
		Proofs: proofs(proofJWT(t, holderKey(t), f.svc.Nonce(), f.clock.Now(), nil, nil))}); err != nil {
		t.Fatal(err)
	}
	hasClaims := func(id string) bool {
		t.Helper()
		var n int
		if err := f.db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM issuer_offers WHERE id = $1 AND claims IS NOT NULL`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	nonces := func() (n int) {
		t.Helper()
		if err := f.db.Reader().QueryRowContext(ctx, `SELECT count(*) FROM issuer_used_nonces`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := f.svc.PurgeExpired(ctx); err != nil {
		t.Fatal(err)
	}
	if !hasClaims(waiting.ID) || !hasClaims(redeemed.ID) || nonces() != 1 {
		t.Fatalf("PurgeExpired removed live data: claims %v %v, nonces %d", hasClaims(waiting.ID), hasClaims(redeemed.ID), nonces())
	}
	f.clock.Add(issuer.DefaultOfferTTL + time.Minute)
	if err := f.svc.PurgeExpired(ctx); err != nil {
		t.Fatal(err)
	}
	if hasClaims(waiting.ID) || hasClaims(redeemed.ID) || nonces() != 0 {
		t.Errorf("after expiry: claims %v %v, nonces %d, want none", hasClaims(waiting.ID), hasClaims(redeemed.ID), nonces())
	}
}
