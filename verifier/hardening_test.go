package verifier_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
)

// counterCall calls the counter API with the purpose's counter token.
func counterCall(t *testing.T, c *tongtest.City, purpose, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.CounterTokens[purpose])
	resp, err := c.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

type requestParams struct {
	ClientID    string `json:"client_id"`
	Nonce       string `json:"nonce"`
	State       string `json:"state"`
	ResponseURI string `json:"response_uri"`
}

// newRequest starts an identity-basic session through the counter API and
// reads its request object as a wallet would.
func newRequest(t *testing.T, c *tongtest.City) (*verifier.Session, requestParams) {
	t.Helper()
	var s verifier.Session
	if st := counterCall(t, c, "identity-basic", http.MethodPost, "/verifier/sessions", verifier.NewRequest{Purpose: "identity-basic"}, &s); st != 201 {
		t.Fatalf("create session: %d", st)
	}
	resp, err := c.Client().Get(c.URL + "/verifier/requests/" + s.ID)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	parts := strings.Split(string(raw), ".")
	if len(parts) != 3 {
		t.Fatalf("request object %q", raw)
	}
	pl, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var p requestParams
	if err := json.Unmarshal(pl, &p); err != nil {
		t.Fatal(err)
	}
	return &s, p
}

// TestUnboundIssuerFetchesNothing (issue 16, beyond the list): a
// presentation whose iss is a URL the registry binds to no agency is
// refused with issuer_unknown before the verifier fetches anything, so a
// presenter cannot make it send requests to, or cache keys of, URLs of
// its choosing (one per presentation, without bound).
func TestUnboundIssuerFetchesNothing(t *testing.T) {
	c := tongtest.New(t, tongtest.Options{})
	attackerKey, _ := keys.Generate(nil, keys.ES256)
	jwk, _ := jose.PublicJWK(attackerKey.Public())
	var fetched atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		iss := "http://" + r.Host + strings.TrimPrefix(r.URL.Path, credential.WellKnownJWTVCIssuer)
		k := jwk
		k.Kid = strings.Repeat("k", 4096)
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": iss, "jwks": map[string]any{"keys": []any{k}}})
	}))
	defer attacker.Close()
	types, _ := issuer.DemoTypes()
	for i := range 5 {
		_, p := newRequest(t, c)
		holder, _ := keys.Generate(nil, keys.ES256)
		sd, err := credential.IssueVC(attackerKey, credential.VC{Issuer: fmt.Sprintf("%s/iss/%d", attacker.URL, i), VCT: types["citizen-identity"].VCT,
			KeyID: strings.Repeat("k", 4096), Expiry: time.Now().Add(time.Hour), Holder: holder.Public(), Claims: types["citizen-identity"].ExampleClaims,
			Disclosable: []credential.Path{{"family_name"}, {"given_name"}, {"age_equal_or_over"}, {"age_equal_or_over", "18"}}}, credential.IssueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		vp, err := credential.Present(sd, []credential.Path{{"family_name"}, {"given_name"}, {"age_equal_or_over", "18"}}, holder,
			credential.KeyBinding{Nonce: p.Nonce, Audience: p.ClientID})
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := json.Marshal(map[string][]string{"pid": {vp}})
		resp, err := c.Client().PostForm(p.ResponseURI, url.Values{"state": {p.State}, "vp_token": {string(tok)}})
		if err != nil {
			t.Fatal(err)
		}
		var eb struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		resp.Body.Close()
		if resp.StatusCode != 400 || eb.Error != string(verifier.CodeIssuerUnknown) {
			t.Fatalf("presentation %d from an unbound issuer: %d %q, want 400 issuer_unknown", i, resp.StatusCode, eb.Error)
		}
	}
	if n := fetched.Load(); n != 0 {
		t.Fatalf("the verifier made %d requests to the presenter's URLs", n)
	}
	if _, keys, _ := c.Verifier.TrustCacheBytes(); keys != 0 {
		t.Fatalf("the key cache holds %d bytes of the presenter's keys", keys)
	}
}

// TestPendingSessionsAreBounded (issue 16, beyond the list): sessions are
// made for pages anyone may open, so the in-memory cache of pending
// sessions stays within MaxCacheBytes; a session past the bound is read
// from the database and still answered.
func TestPendingSessionsAreBounded(t *testing.T) {
	const max = 64 << 10
	c := tongtest.New(t, tongtest.Options{VerifierConfig: func(cfg *verifier.Config) { cfg.MaxCacheBytes = max }})
	var last *verifier.Session
	for range 400 {
		var s verifier.Session
		if st := counterCall(t, c, "identity-basic", http.MethodPost, "/verifier/sessions", verifier.NewRequest{Purpose: "identity-basic"}, &s); st != 201 {
			t.Fatalf("create session: %d", st)
		}
		last = &s
	}
	if n := c.Verifier.PendingBytes(); n > max || n < max/2 {
		t.Fatalf("pending sessions hold %d bytes, want at most %d (and the cache in use)", n, max)
	}
	w := c.Citizen(t, nil)
	if err := tongtest.Answer(t, w, last.RequestURI); err != nil {
		t.Fatalf("a session past the cache's bound: %v", err)
	}
	var got verifier.Session
	if counterCall(t, c, "identity-basic", http.MethodGet, "/verifier/sessions/"+last.ID, nil, &got); got.Status != verifier.StatusAccepted {
		t.Fatalf("session %s", got.Status)
	}
}
