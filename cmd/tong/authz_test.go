package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/pgtest"
	"github.com/tongid/tong/issuer"
)

// TestDemoAuthorizationCode: in `tong serve --demo` the housing
// commission is of high assurance (demo.json "profile": "haip"), and a
// citizen holding the PSB's identity credential gets the residence
// credential the commission staged for them through the authorization
// code flow: PAR with PKCE, authorization_details and DPoP; the
// authorization page's presentation request answered by `tong wallet
// present` and checked by Tong's verifier, whose redirect back (with a
// response_code) is followed with the page's cookie; the code redeemed with the
// code_verifier and a DPoP proof by the same key; the credential fetched
// with DPoP. Everything runs through the real server.
//
// It runs on SQLite and on PostgreSQL (the flow's single-use steps are
// conditional UPDATEs that both engines must honour).
func TestDemoAuthorizationCode(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": t.TempDir()}
			if engine == "postgres" {
				env["TONG_DATABASE_URL"] = pgtest.URLForTest(t)
			}
			demoAuthorizationCode(t, env)
		})
	}
}

func demoAuthorizationCode(t *testing.T, env map[string]string) {
	data := env["TONG_DATA"]
	base, stop := serveForTest(t, env, "--demo")
	defer stop()
	raw, _ := os.ReadFile(filepath.Join(data, "demo.json"))
	var demo demoFile
	if err := json.Unmarshal(raw, &demo); err != nil {
		t.Fatal(err)
	}
	var psb, housing *demoOrg
	for i, a := range demo.Agencies {
		switch {
		case strings.HasSuffix(a.IssuerURL, "/issuers/psb"):
			psb = &demo.Agencies[i]
		case strings.HasSuffix(a.IssuerURL, "/issuers/housing"):
			housing = &demo.Agencies[i]
		}
	}
	if psb == nil || housing == nil || housing.Profile != issuer.ProfileHAIP || psb.Profile != "" {
		t.Fatalf("demo agencies %+v, want housing with profile haip", demo.Agencies)
	}
	// The citizen's identity credential, from the PSB.
	types, _ := issuer.DemoTypes()
	claims := filepath.Join(t.TempDir(), "claims.json")
	b, _ := json.Marshal(types["citizen-identity"].ExampleClaims)
	_ = os.WriteFile(claims, b, 0o600)
	_, out, _ := runTong(t, map[string]string{"TONG_SERVER": base, "TONG_TOKEN": psb.Token}, "issuer", "offer", "--type", "citizen-identity", "--claims", claims, "--json")
	var offer map[string]string
	_ = json.Unmarshal([]byte(out), &offer)
	wenv := map[string]string{"TONG_WALLET": filepath.Join(t.TempDir(), "me.db"), "TONG_WALLET_PASSPHRASE": "pw", "TONG_REGISTRY": base}
	runTong(t, wenv, "wallet", "init")
	if code, _, errOut := runTong(t, wenv, "wallet", "receive", offer["offer_uri"], "--tx-code", offer["tx_code"]); code != 0 {
		t.Fatalf("receive identity: %q", errOut)
	}
	hc := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var lastHeader http.Header
	do := func(method, u, contentType string, body string, hdr map[string]string, v any) int {
		t.Helper()
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for k, x := range hdr {
			req.Header.Set(k, x)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		rb, _ := io.ReadAll(resp.Body)
		lastHeader = resp.Header
		if v != nil {
			_ = json.Unmarshal(rb, v)
		}
		if resp.StatusCode >= 300 {
			t.Logf("%s %s: %d %s", method, u, resp.StatusCode, rb)
		}
		return resp.StatusCode
	}
	// The commission stages the citizen's residence credential, naming
	// them by their personal_administrative_number.
	pan := types["citizen-identity"].ExampleClaims["personal_administrative_number"].(string)
	sb, _ := json.Marshal(map[string]any{"type": "beijing-residence", "claims": types["beijing-residence"].ExampleClaims, "subject": pan})
	var staged struct {
		CredentialID string `json:"credential_id"`
	}
	if st := do("POST", housing.IssuerURL+"/api/offers", "application/json", string(sb), map[string]string{"Authorization": "Bearer " + housing.Token}, &staged); st != 201 {
		t.Fatalf("stage: %d", st)
	}
	var asm map[string]any
	u, _ := url.Parse(housing.IssuerURL)
	do("GET", u.Scheme+"://"+u.Host+"/.well-known/oauth-authorization-server"+u.Path, "", "", nil, &asm)
	if asm["pushed_authorization_request_endpoint"] != housing.IssuerURL+"/par" || asm["authorization_endpoint"] != housing.IssuerURL+"/authorize" {
		t.Fatalf("AS metadata %v", asm)
	}

	dk, _ := keys.Generate(nil, keys.ES256)
	dpop := func(htm, htu, at string) string {
		jwk, _ := jose.PublicJWK(dk.Public())
		jti := make([]byte, 12)
		_, _ = rand.Read(jti)
		c := map[string]any{"jti": base64.RawURLEncoding.EncodeToString(jti), "htm": htm, "htu": htu, "iat": time.Now().Unix()}
		if at != "" {
			sum := sha256.Sum256([]byte(at))
			c["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
		}
		h, _ := json.Marshal(map[string]any{"alg": dk.Alg(), "typ": issuer.TypDPoP, "jwk": jwk})
		p, _ := json.Marshal(c)
		s, err := jose.SignRaw(dk, h, p)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	vb := make([]byte, 32)
	_, _ = rand.Read(vb)
	verifier := base64.RawURLEncoding.EncodeToString(vb)
	sum := sha256.Sum256([]byte(verifier))
	redirect := "http://127.0.0.1:1/cb"
	form := url.Values{"response_type": {"code"}, "client_id": {"test-wallet"}, "redirect_uri": {redirect}, "state": {"s1"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"authorization_details": {`[{"type":"openid_credential","credential_configuration_id":"beijing-residence"}]`}}
	var par map[string]any
	if st := do("POST", housing.IssuerURL+"/par", "application/x-www-form-urlencoded", form.Encode(), nil, &par); st != 400 || par["error"] != "invalid_dpop_proof" {
		t.Fatalf("PAR without DPoP at a haip agency: %d %v", st, par)
	}
	if st := do("POST", housing.IssuerURL+"/par", "application/x-www-form-urlencoded", form.Encode(), map[string]string{"DPoP": dpop("POST", housing.IssuerURL+"/par", "")}, &par); st != 201 {
		t.Fatalf("PAR: %d %v", st, par)
	}
	var az map[string]string
	q := url.Values{"client_id": {"test-wallet"}, "request_uri": {par["request_uri"].(string)}}
	if st := do("GET", housing.IssuerURL+"/authorize?"+q.Encode(), "", "", map[string]string{"Accept": "application/json"}, &az); st != 200 || !strings.HasPrefix(az["presentation_uri"], "openid4vp://") {
		t.Fatalf("authorize: %d %v", st, az)
	}
	var cookie string
	for _, c := range (&http.Response{Header: lastHeader}).Cookies() {
		cookie = c.Name + "=" + c.Value
	}
	code, out, errOut := runTong(t, wenv, "wallet", "present", az["presentation_uri"], "--yes", "--json")
	if code != 0 {
		t.Fatalf("present: %d %q", code, errOut)
	}
	var rec struct {
		RedirectURI string `json:"redirect_uri"`
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil || !strings.HasPrefix(rec.RedirectURI, az["status_uri"]+issuer.ReturnPath+"?response_code=") {
		t.Fatalf("present gave %q, want the redirect back to the authorization with a response_code", out)
	}
	// The page only learns that the citizen presented; the code goes to
	// the user agent the wallet sends back, with the page's cookie.
	var done map[string]string
	if st := do("GET", az["status_uri"], "", "", map[string]string{"Accept": "application/json"}, &done); st != 200 || done["status"] != "presented" || done["redirect_to"] != "" {
		t.Fatalf("the page after presenting: %d %v", st, done)
	}
	if st := do("GET", rec.RedirectURI, "", "", map[string]string{"Accept": "application/json", "Cookie": cookie}, &done); st != 200 || done["status"] != "done" {
		t.Fatalf("back from the wallet: %d %v", st, done)
	}
	ru, _ := url.Parse(done["redirect_to"])
	if ru == nil || ru.Query().Get("code") == "" || ru.Query().Get("state") != "s1" {
		t.Fatalf("authorization result %v", done)
	}
	tf := url.Values{"grant_type": {"authorization_code"}, "code": {ru.Query().Get("code")}, "code_verifier": {verifier}, "redirect_uri": {redirect}, "client_id": {"test-wallet"}}
	var tok map[string]any
	if st := do("POST", housing.IssuerURL+"/token", "application/x-www-form-urlencoded", tf.Encode(), map[string]string{"DPoP": dpop("POST", housing.IssuerURL+"/token", "")}, &tok); st != 200 || tok["token_type"] != "DPoP" {
		t.Fatalf("token: %d %v", st, tok)
	}
	at := tok["access_token"].(string)
	var n map[string]string
	do("POST", housing.IssuerURL+"/nonce", "", "", nil, &n)
	hk, _ := keys.Generate(nil, keys.ES256)
	jwk, _ := jose.PublicJWK(hk.Public())
	ph, _ := json.Marshal(map[string]any{"alg": hk.Alg(), "typ": issuer.TypProof, "jwk": jwk})
	pp, _ := json.Marshal(map[string]any{"aud": housing.IssuerURL, "iat": time.Now().Unix(), "nonce": n["c_nonce"]})
	pj, _ := jose.SignRaw(hk, ph, pp)
	cb, _ := json.Marshal(map[string]any{"credential_identifier": staged.CredentialID, "proofs": map[string]any{"jwt": []string{pj}}})
	var cred struct {
		Credentials []struct {
			Credential string `json:"credential"`
		} `json:"credentials"`
	}
	if st := do("POST", housing.IssuerURL+"/credential", "application/json", string(cb),
		map[string]string{"Authorization": "DPoP " + at, "DPoP": dpop("POST", housing.IssuerURL+"/credential", at)}, &cred); st != 200 || len(cred.Credentials) != 1 {
		t.Fatalf("credential: %d %+v", st, cred)
	}
}
