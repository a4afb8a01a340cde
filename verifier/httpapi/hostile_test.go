package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
)

// issueRaw runs the OpenID4VCI flow through the issuer's Go API and
// returns one raw SD-JWT VC and its holder key, so tests can build
// presentations by hand.
func issueRaw(t testing.TB, c *tongtest.City, slug, typ string) (string, *keys.Signer) {
	t.Helper()
	ctx := context.Background()
	types, _ := issuer.DemoTypes()
	o, err := c.Issuer.CreateOffer(ctx, slug, "test", issuer.OfferRequest{Type: typ, Claims: types[typ].ExampleClaims})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := c.Issuer.Token(ctx, slug, issuer.TokenRequest{GrantType: issuer.GrantPreAuthorizedCode, PreAuthorizedCode: o.PreAuthorizedCode, TxCode: o.TxCode, TxCodeSent: true})
	if err != nil {
		t.Fatal(err)
	}
	ag, _ := c.Issuer.Agency(ctx, slug)
	holder, _ := keys.Generate(nil, keys.ES256)
	jwk, _ := jose.PublicJWK(holder.Public())
	h, _ := json.Marshal(map[string]any{"alg": "ES256", "typ": issuer.TypProof, "jwk": jwk})
	p, _ := json.Marshal(map[string]any{"aud": ag.IssuerURL, "iat": time.Now().Unix(), "nonce": c.Issuer.Nonce()})
	proof, _ := jose.SignRaw(holder, h, p)
	proofs, _ := json.Marshal(map[string]any{"jwt": []string{proof}})
	resp, _, err := c.Issuer.Credential(ctx, slug, tr.AccessToken, "", &issuer.CredentialRequest{CredentialConfigurationID: typ, Proofs: proofs})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Credentials[0].Credential, holder
}

// requestParams reads a session's request object.
type requestParams struct {
	ClientID    string   `json:"client_id"`
	Nonce       string   `json:"nonce"`
	State       string   `json:"state"`
	ResponseURI string   `json:"response_uri"`
	TxData      []string `json:"transaction_data"`
}

func params(t testing.TB, c *tongtest.City, s *verifier.Session) requestParams {
	t.Helper()
	resp, err := c.Client().Get(c.URL + "/verifier/requests/" + s.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	parts := strings.Split(string(raw), ".")
	pl, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var p requestParams
	if err := json.Unmarshal(pl, &p); err != nil {
		t.Fatalf("request object %q", raw)
	}
	return p
}

// post sends a direct_post response and returns the status and error code.
func post(t testing.TB, c *tongtest.City, uri string, form url.Values) (int, string) {
	t.Helper()
	resp, err := c.Client().PostForm(uri, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb struct {
		Error string `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&eb)
	return resp.StatusCode, eb.Error
}

func vpToken(id, vp string) string {
	b, _ := json.Marshal(map[string][]string{id: {vp}})
	return string(b)
}

var basicPaths = []credential.Path{{"family_name"}, {"given_name"}, {"age_equal_or_over", "18"}}

func TestHostilePresentations(t *testing.T) {
	var clockMu sync.Mutex
	var offset time.Duration
	now := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return time.Now().Add(offset) }
	c := tongtest.New(t, tongtest.Options{VerifierConfig: func(cfg *verifier.Config) {
		cfg.Now = now
		cfg.CacheTTL = time.Millisecond // every check sees the issuer's newest status list
	}})
	ctx := context.Background()

	// A rogue agency: registered, its URL bound by the trust authority, but
	// accredited for no credential type the verifier asks for.
	rogueKey, _ := c.Keys.Create("org-rogue", keys.ES256)
	rogueDID := c.Register(t, rogueKey, c.URL+"/issuers/rogue", "issuer", "urn:tong:vct:rogue-only:1")
	if err := c.Issuer.AddAgency(ctx, issuer.Agency{Slug: "rogue", Name: "Rogue bureau", IssuerURL: c.URL + "/issuers/rogue", DID: rogueDID, KeyName: "org-rogue", KeyID: rogueDID + "#key-1"}); err != nil {
		t.Fatal(err)
	}
	// Our issuer refuses the rogue a type with the PSB's vct (vct_taken),
	// so it signs one by hand, as an issuer of its own would.
	types, _ := issuer.DemoTypes()
	rogueVC := func(t *testing.T) (string, *keys.Signer) {
		holder, _ := keys.Generate(nil, keys.ES256)
		sd, err := credential.IssueVC(rogueKey, credential.VC{Issuer: c.URL + "/issuers/rogue", VCT: types["citizen-identity"].VCT, KeyID: rogueDID + "#key-1",
			Expiry: time.Now().Add(time.Hour), Holder: holder.Public(), Claims: types["citizen-identity"].ExampleClaims,
			Disclosable: []credential.Path{{"family_name"}, {"given_name"}, {"age_equal_or_over"}, {"age_equal_or_over", "18"}}}, credential.IssueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return sd, holder
	}

	good := func(sdjwt string, holder *keys.Signer, p requestParams, paths []credential.Path, kb credential.KeyBinding) string {
		if kb.Nonce == "" {
			kb.Nonce = p.Nonce
		}
		if kb.Audience == "" {
			kb.Audience = p.ClientID
		}
		vp, err := credential.Present(sdjwt, paths, holder, kb)
		if err != nil {
			t.Fatal(err)
		}
		return vp
	}

	cases := []struct {
		name    string
		purpose string
		status  int
		code    string
		// respond builds the form from a fresh session's params.
		respond func(t *testing.T, p requestParams) url.Values
	}{
		{"wrong nonce", "identity-basic", 400, "kb_nonce_mismatch", func(t *testing.T, p requestParams) url.Values {
			sd, h := issueRaw(t, c, "psb", "citizen-identity")
			return url.Values{"state": {p.State}, "vp_token": {vpToken("pid", good(sd, h, p, basicPaths, credential.KeyBinding{Nonce: "not-the-nonce"}))}}
		}},
		{"KB-JWT for another verifier", "identity-basic", 400, "kb_aud_mismatch", func(t *testing.T, p requestParams) url.Values {
			sd, h := issueRaw(t, c, "psb", "citizen-identity")
			return url.Values{"state": {p.State}, "vp_token": {vpToken("pid", good(sd, h, p, basicPaths, credential.KeyBinding{Audience: "decentralized_identifier:did:tong:zOther"}))}}
		}},
		{"missing KB-JWT", "identity-basic", 400, "kb_missing", func(t *testing.T, p requestParams) url.Values {
			sd, h := issueRaw(t, c, "psb", "citizen-identity")
			vp := good(sd, h, p, basicPaths, credential.KeyBinding{})
			return url.Values{"state": {p.State}, "vp_token": {vpToken("pid", vp[:strings.LastIndex(vp, "~")+1])}}
		}},
		{"sd_hash mismatch", "identity-basic", 400, "kb_sd_hash_mismatch", func(t *testing.T, p requestParams) url.Values {
			sd, h := issueRaw(t, c, "psb", "citizen-identity")
			vp := good(sd, h, p, basicPaths, credential.KeyBinding{})
			parts := strings.Split(vp, "~")
			// Drop one disclosure after the KB-JWT signed over them all.
			vp = strings.Join(append(parts[:1], parts[2:]...), "~")
			return url.Values{"state": {p.State}, "vp_token": {vpToken("pid", vp)}}
		}},
		{"tampered disclosure", "identity-basic", 400, "", func(t *testing.T, p requestParams) url.Values {
			sd, h := issueRaw(t, c, "psb", "citizen-identity")
			parts := strings.Split(sd, "~")
			d, _ := base64.RawURLEncoding.DecodeString(parts[1])
			d = []byte(strings.Replace(string(d), "小明", "大明", 1))
			d = []byte(strings.Replace(string(d), "王", "李", 1))
			parts[1] = base64.RawURLEncoding.EncodeToString(d)
			forged := strings.Join(parts, "~")
			return url.Values{"state": {p.State}, "vp_token": {vpToken("pid", good(forged, h, p, nil, credential.KeyBinding{})+"")}}
		}},
		{"unaccredited issuer", "identity-basic", 400, "issuer_not_accredited", func(t *testing.T, p requestParams) url.Values {
			sd, h := rogueVC(t)
			return url.Values{"state": {p.State}, "vp_token": {vpToken("pid", good(sd, h, p, basicPaths, credential.KeyBinding{}))}}
		}},
		{"revoked credential", "identity-basic", 400, "credential_revoked", func(t *testing.T, p requestParams) url.Values {
			sd, h := issueRaw(t, c, "psb", "citizen-identity")
			revoke(t, c, sd, issuer.StatusRevoked)
			return url.Values{"state": {p.State}, "vp_token": {vpToken("pid", good(sd, h, p, basicPaths, credential.KeyBinding{}))}}
		}},
		{"suspended credential", "identity-basic", 400, "credential_suspended", func(t *testing.T, p requestParams) url.Values {
			sd, h := issueRaw(t, c, "psb", "citizen-identity")
			revoke(t, c, sd, issuer.StatusSuspended)
			return url.Values{"state": {p.State}, "vp_token": {vpToken("pid", good(sd, h, p, basicPaths, credential.KeyBinding{}))}}
		}},
		{"expired credential", "identity-basic", 400, "expired", func(t *testing.T, p requestParams) url.Values {
			holder, _ := keys.Generate(nil, keys.ES256)
			sd, err := credential.IssueVC(c.PSB.Signer(), credential.VC{Issuer: c.PSB.IssuerURL, VCT: "urn:tong:vct:citizen-identity:1", KeyID: c.PSB.KeyID,
				IssuedAt: time.Now().Add(-48 * time.Hour), Expiry: time.Now().Add(-24 * time.Hour), Holder: holder.Public(),
				Claims: types["citizen-identity"].ExampleClaims, Disclosable: []credential.Path{{"family_name"}, {"given_name"}, {"age_equal_or_over", "18"}}}, credential.IssueOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return url.Values{"state": {p.State}, "vp_token": {vpToken("pid", good(sd, holder, p, basicPaths, credential.KeyBinding{}))}}
		}},
		{"vct not asked for", "identity-basic", 400, "vct_not_requested", func(t *testing.T, p requestParams) url.Values {
			sd, h := issueRaw(t, c, "housing", "beijing-residence")
			return url.Values{"state": {p.State}, "vp_token": {vpToken("pid", good(sd, h, p, []credential.Path{{"address", "locality"}}, credential.KeyBinding{}))}}
		}},
		{"answer to a query not asked", "identity-basic", 400, "unexpected_credential", func(t *testing.T, p requestParams) url.Values {
			sd, h := issueRaw(t, c, "psb", "citizen-identity")
			vp := good(sd, h, p, basicPaths, credential.KeyBinding{})
			b, _ := json.Marshal(map[string][]string{"pid": {vp}, "extra": {vp}})
			return url.Values{"state": {p.State}, "vp_token": {string(b)}}
		}},
		{"requested claim withheld", "identity-basic", 400, "claim_missing", func(t *testing.T, p requestParams) url.Values {
			sd, h := issueRaw(t, c, "psb", "citizen-identity")
			return url.Values{"state": {p.State}, "vp_token": {vpToken("pid", good(sd, h, p, []credential.Path{{"family_name"}}, credential.KeyBinding{}))}}
		}},
		// A wrong state leaves the session pending: TestStrayResponseLeavesSessionPending.
		{"transaction_data hash missing", "pay-fee", 400, "transaction_data_mismatch", func(t *testing.T, p requestParams) url.Values {
			sd, h := issueRaw(t, c, "psb", "citizen-identity")
			paths := []credential.Path{{"family_name"}, {"given_name"}, {"personal_administrative_number"}}
			return url.Values{"state": {p.State}, "vp_token": {vpToken("pid", good(sd, h, p, paths, credential.KeyBinding{}))}}
		}},
		{"transaction_data hash altered", "pay-fee", 400, "transaction_data_mismatch", func(t *testing.T, p requestParams) url.Values {
			sd, h := issueRaw(t, c, "psb", "citizen-identity")
			paths := []credential.Path{{"family_name"}, {"given_name"}, {"personal_administrative_number"}}
			other := base64.RawURLEncoding.EncodeToString([]byte(`{"type":"tong_payment","credential_ids":["pid"],"amount":"1.00"}`))
			kb := credential.KeyBinding{Extra: map[string]any{"transaction_data_hashes": []string{hash(other)}, "transaction_data_hashes_alg": "sha-256"}}
			return url.Values{"state": {p.State}, "vp_token": {vpToken("pid", good(sd, h, p, paths, kb))}}
		}},
	}
	payment := map[string]any{"amount": "120.00", "currency": "CNY", "payee": "Dongcheng hall", "order_id": "ord-7"}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var td map[string]any
			if tc.purpose == "pay-fee" {
				td = payment
			}
			s := newSession(t, c, tc.purpose, td)
			p := params(t, c, s.Session)
			st, code := post(t, c, p.ResponseURI, tc.respond(t, p))
			if st != tc.status || (tc.code != "" && code != tc.code) || code == "" {
				t.Fatalf("got %d %q, want %d %q", st, code, tc.status, tc.code)
			}
			var got verifier.Session
			call(t, c, http.MethodGet, "/verifier/sessions/"+s.ID, c.CounterTokens[tc.purpose], nil, &got)
			if got.Status != verifier.StatusRejected || got.Result == nil || string(got.Result.Code) != code || len(got.Result.Credentials) != 0 {
				t.Fatalf("session %+v result %+v", got.Status, got.Result)
			}
		})
	}

	t.Run("replayed vp_token", func(t *testing.T) {
		s := newSession(t, c, "identity-basic", nil)
		p := params(t, c, s.Session)
		sd, h := issueRaw(t, c, "psb", "citizen-identity")
		form := url.Values{"state": {p.State}, "vp_token": {vpToken("pid", good(sd, h, p, basicPaths, credential.KeyBinding{}))}}
		if st, code := post(t, c, p.ResponseURI, form); st != 200 {
			t.Fatalf("first: %d %s", st, code)
		}
		if st, code := post(t, c, p.ResponseURI, form); st != 400 || code != "replay" {
			t.Fatalf("replay: %d %s", st, code)
		}
		// The same presentation at another session fails on its nonce.
		s2 := newSession(t, c, "identity-basic", nil)
		p2 := params(t, c, s2.Session)
		form.Set("state", p2.State)
		if st, code := post(t, c, p2.ResponseURI, form); st != 400 || code != "kb_nonce_mismatch" {
			t.Fatalf("replay elsewhere: %d %s", st, code)
		}
	})
	t.Run("expired session", func(t *testing.T) {
		s := newSession(t, c, "identity-basic", nil)
		p := params(t, c, s.Session)
		sd, h := issueRaw(t, c, "psb", "citizen-identity")
		clockMu.Lock()
		offset = verifier.DefaultSessionTTL + time.Second
		clockMu.Unlock()
		defer func() { clockMu.Lock(); offset = 0; clockMu.Unlock() }()
		st, code := post(t, c, p.ResponseURI, url.Values{"state": {p.State}, "vp_token": {vpToken("pid", good(sd, h, p, basicPaths, credential.KeyBinding{}))}})
		if st != 410 || code != "session_expired" {
			t.Fatalf("%d %s", st, code)
		}
	})
	t.Run("oversized body", func(t *testing.T) {
		s := newSession(t, c, "identity-basic", nil)
		p := params(t, c, s.Session)
		st, code := post(t, c, p.ResponseURI, url.Values{"state": {p.State}, "vp_token": {strings.Repeat("a", verifier.MaxResponseBody)}})
		if st != http.StatusRequestEntityTooLarge || code != "request_too_large" {
			t.Fatalf("%d %s", st, code)
		}
		var got verifier.Session
		call(t, c, http.MethodGet, "/verifier/sessions/"+s.ID, c.CounterTokens["identity-basic"], nil, &got)
		if got.Status != verifier.StatusPending {
			t.Fatalf("status %s", got.Status)
		}
	})
	t.Run("extra claims are accepted but not kept", func(t *testing.T) {
		s := newSession(t, c, "identity-basic", nil)
		p := params(t, c, s.Session)
		sd, h := issueRaw(t, c, "psb", "citizen-identity")
		paths := append(append([]credential.Path{}, basicPaths...), credential.Path{"birthdate"}, credential.Path{"personal_administrative_number"})
		if st, code := post(t, c, p.ResponseURI, url.Values{"state": {p.State}, "vp_token": {vpToken("pid", good(sd, h, p, paths, credential.KeyBinding{}))}}); st != 200 {
			t.Fatalf("%d %s", st, code)
		}
		var got verifier.Session
		call(t, c, http.MethodGet, "/verifier/sessions/"+s.ID, c.CounterTokens["identity-basic"], nil, &got)
		raw, _ := json.Marshal(got)
		if got.Status != verifier.StatusAccepted || strings.Contains(string(raw), "1990-05-17") || strings.Contains(string(raw), "110101199005170034") {
			t.Fatalf("stored %s", raw)
		}
	})
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// revoke sets the status of the credential that sd is a copy of.
func revoke(t *testing.T, c *tongtest.City, sd, status string) {
	t.Helper()
	_, claims, err := credential.Inspect(sd)
	if err != nil {
		t.Fatal(err)
	}
	st := claims["status"].(map[string]any)["status_list"].(map[string]any)
	n, _ := st["idx"].(json.Number).Int64()
	idx := int(n)
	var credID string
	if err := c.DB.Reader().QueryRow(`SELECT credential_id FROM issuer_status_entries WHERE idx = $1 AND list_id = $2`, idx, lastSegment(st["uri"].(string))).Scan(&credID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Issuer.SetStatus(context.Background(), "psb", "test", credID, status); err != nil {
		t.Fatal(err)
	}
}

func lastSegment(u string) string { return u[strings.LastIndex(u, "/")+1:] }
