package oid4vci_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongid/tong/internal/httpx"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/sqlitedb"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/issuer/oid4vci"
)

// env is an issuer on a loopback HTTP server with one agency, "psb",
// issuing the demo types.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	svc    *issuer.Service
	ag     *issuer.Agency
	token  string // staff API token
	client *http.Client
	db     *store.DB
}

func newEnv(t testing.TB, mod func(*issuer.Config)) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlitedb.Open(ctx, filepath.Join(dir, "tong.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	kd, err := keys.OpenDir(filepath.Join(dir, "keys"), make([]byte, keys.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kd.Create("org-psb", keys.ES256); err != nil {
		t.Fatal(err)
	}
	cfg := issuer.Config{DB: db, Keys: kd, Secret: make([]byte, 32), AllowLoopbackHTTP: true, BatchSize: 5}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := issuer.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	h = httpx.Recover(oid4vci.New(svc).Routes())
	did := "did:tong:zTestPSB"
	if err := svc.AddAgency(ctx, issuer.Agency{Slug: "psb", Name: "Beijing Municipal Public Security Bureau",
		IssuerURL: srv.URL + "/issuers/psb", DID: did, KeyName: "org-psb", KeyID: did + "#key-1"}); err != nil {
		t.Fatal(err)
	}
	types, err := issuer.DemoTypes()
	if err != nil {
		t.Fatal(err)
	}
	for _, ty := range types {
		if err := svc.PutType(ctx, "psb", "operator", ty); err != nil {
			t.Fatal(err)
		}
	}
	tok, _, err := svc.CreateAPIToken(ctx, "psb", "operator", "test")
	if err != nil {
		t.Fatal(err)
	}
	ag, _ := svc.Agency(ctx, "psb")
	e := &env{srv: srv, svc: svc, ag: ag, token: tok, client: srv.Client(), db: db}
	if tt, ok := t.(*testing.T); ok {
		e.t = tt
	}
	return e
}

// call makes a request and decodes a JSON answer into out (if non-nil).
func (e *env) call(tb testing.TB, method, path, contentType string, body io.Reader, hdr map[string]string, out any) (int, http.Header) {
	tb.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = e.srv.URL + path
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		tb.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.Fatalf("%s %s: %d %q: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode, resp.Header
}

func (e *env) postJSON(tb testing.TB, path string, v any, hdr map[string]string, out any) (int, http.Header) {
	tb.Helper()
	b, _ := json.Marshal(v)
	return e.call(tb, http.MethodPost, path, "application/json", strings.NewReader(string(b)), hdr, out)
}

func (e *env) staff() map[string]string {
	return map[string]string{"Authorization": "Bearer " + e.token}
}

// offer creates an offer for the example citizen.
func (e *env) offer(tb testing.TB, typ string) *oid4vci.OfferResponse {
	tb.Helper()
	types := demoTypes()
	var o oid4vci.OfferResponse
	code, _ := e.postJSON(tb, "/issuers/psb/api/offers", issuer.OfferRequest{Type: typ, Claims: types[typ].ExampleClaims}, e.staff(), &o)
	if code != http.StatusCreated || o.Offer == nil {
		tb.Fatalf("create offer: %d", code)
	}
	return &o
}

// demoTypes parses the demo types once.
var demoTypes = sync.OnceValue(func() map[string]*issuer.CredentialType {
	ts, err := issuer.DemoTypes()
	if err != nil {
		panic(err)
	}
	return ts
})

// errBody is an OAuth error response.
type errBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// wallet is the holder side of the flow, as the test drives it.
type wallet struct {
	e         *env
	offer     issuer.CredentialOffer
	meta      oid4vci.IssuerMetadata
	access    string
	tokenType string
	keys      []*keys.Signer
}

// fetchOffer resolves an offer URI by reference.
func (e *env) fetchOffer(tb testing.TB, offerURI string) *wallet {
	tb.Helper()
	u, err := url.Parse(offerURI)
	if err != nil || u.Scheme != "openid-credential-offer" {
		tb.Fatalf("offer URI %q", offerURI)
	}
	ref := u.Query().Get("credential_offer_uri")
	w := &wallet{e: e}
	if code, _ := e.call(tb, http.MethodGet, ref, "", nil, nil, &w.offer); code != 200 {
		tb.Fatalf("fetch offer: %d", code)
	}
	iu, _ := url.Parse(w.offer.CredentialIssuer)
	wk := iu.Scheme + "://" + iu.Host + "/.well-known/openid-credential-issuer" + iu.Path
	if code, _ := e.call(tb, http.MethodGet, wk, "", nil, nil, &w.meta); code != 200 {
		tb.Fatalf("metadata: %d", code)
	}
	return w
}

func (w *wallet) code() string {
	return w.offer.Grants[issuer.GrantPreAuthorizedCode].PreAuthorizedCode
}

// redeem posts the token request; it returns the status and error body.
func (w *wallet) redeem(tb testing.TB, code, txCode string, hdr map[string]string) (int, errBody) {
	tb.Helper()
	form := url.Values{"grant_type": {issuer.GrantPreAuthorizedCode}, "pre-authorized_code": {code}, "tx_code": {txCode}}
	var out struct {
		errBody
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	st, _ := w.e.call(tb, http.MethodPost, w.offer.CredentialIssuer+"/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), hdr, &out)
	if st == 200 {
		w.access, w.tokenType = out.AccessToken, out.TokenType
	}
	return st, out.errBody
}

func (w *wallet) nonce(tb testing.TB) string {
	tb.Helper()
	var out struct {
		CNonce string `json:"c_nonce"`
	}
	if st, h := w.e.call(tb, http.MethodPost, w.meta.NonceEndpoint, "", nil, nil, &out); st != 200 || h.Get("Cache-Control") != "no-store" {
		tb.Fatalf("nonce: %d", st)
	}
	return out.CNonce
}

// proof signs an openid4vci-proof+jwt with key.
func proof(tb testing.TB, key *keys.Signer, header map[string]any, claims map[string]any) string {
	tb.Helper()
	jwk, err := jose.PublicJWK(key.Public())
	if err != nil {
		tb.Fatal(err)
	}
	h := map[string]any{"alg": key.Alg(), "typ": issuer.TypProof, "jwk": jwk}
	for k, v := range header {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	payload, _ := json.Marshal(claims)
	jws, err := jose.SignRaw(key, mustJSON(h), payload)
	if err != nil {
		tb.Fatal(err)
	}
	return jws
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// proofClaims are good proof claims for w.
func (w *wallet) proofClaims(nonce string) map[string]any {
	return map[string]any{"aud": w.offer.CredentialIssuer, "iat": time.Now().Unix(), "nonce": nonce}
}

// newKeys makes n holder keys.
func newKeys(tb testing.TB, n int) []*keys.Signer {
	out := make([]*keys.Signer, n)
	for i := range out {
		k, err := keys.Generate(nil, keys.ES256)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = k
	}
	return out
}

// requestCredential posts proofs and decodes the answer.
func (w *wallet) requestCredential(tb testing.TB, body map[string]any, hdr map[string]string) (int, map[string]any) {
	tb.Helper()
	if hdr == nil {
		hdr = map[string]string{"Authorization": "Bearer " + w.access}
	}
	var out map[string]any
	st, _ := w.e.postJSON(tb, w.meta.CredentialEndpoint, body, hdr, &out)
	return st, out
}

// dpopProof makes a DPoP proof.
func dpopProof(tb testing.TB, key *keys.Signer, htm, htu, accessToken string) string {
	jwk, _ := jose.PublicJWK(key.Public())
	claims := map[string]any{"jti": base64.RawURLEncoding.EncodeToString(mustJSON(time.Now().UnixNano())), "htm": htm, "htu": htu, "iat": time.Now().Unix()}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	jws, err := jose.SignRaw(key, mustJSON(map[string]any{"alg": key.Alg(), "typ": issuer.TypDPoP, "jwk": jwk}), mustJSON(claims))
	if err != nil {
		tb.Fatal(err)
	}
	return jws
}

var _ crypto.PublicKey
