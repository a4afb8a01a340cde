package oid4vci_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/issuer"
)

// issued counts credentials recorded by the issuer, so each hostile case
// can show that nothing was issued.
func (e *env) issued(t *testing.T) int {
	t.Helper()
	n := 0
	var audit struct {
		Entries []issuer.AuditEntry `json:"entries"`
	}
	e.call(t, http.MethodGet, "/issuers/psb/api/audit?limit=1000", "", nil, e.staff(), &audit)
	for _, a := range audit.Entries {
		if a.Action == "credential.issue" {
			n++
		}
	}
	return n
}

func TestTokenEndpointRefusals(t *testing.T) {
	e := newEnv(t, func(c *issuer.Config) { c.MaxTxTries = 3 })

	t.Run("wrong tx_code counts and locks", func(t *testing.T) {
		o := e.offer(t, "citizen-identity")
		w := e.fetchOffer(t, o.OfferURI)
		wrong := "000000"
		if wrong == o.TxCode {
			wrong = "111111"
		}
		for i := range 3 {
			st, eb := w.redeem(t, w.code(), wrong, nil)
			if st != 400 || eb.Error != "invalid_grant" {
				t.Fatalf("try %d: %d %+v", i, st, eb)
			}
		}
		// Locked: even the right PIN no longer works.
		st, eb := w.redeem(t, w.code(), o.TxCode, nil)
		if st != 400 || eb.Error != "invalid_grant" || !strings.Contains(eb.Description, "locked") {
			t.Fatalf("after lock: %d %+v", st, eb)
		}
	})
	t.Run("missing tx_code", func(t *testing.T) {
		o := e.offer(t, "citizen-identity")
		w := e.fetchOffer(t, o.OfferURI)
		form := url.Values{"grant_type": {issuer.GrantPreAuthorizedCode}, "pre-authorized_code": {w.code()}}
		var eb errBody
		st, _ := e.call(t, http.MethodPost, "/issuers/psb/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil, &eb)
		if st != 400 || eb.Error != "invalid_request" {
			t.Fatalf("%d %+v", st, eb)
		}
	})
	t.Run("reused code", func(t *testing.T) {
		o := e.offer(t, "citizen-identity")
		w := e.fetchOffer(t, o.OfferURI)
		if st, eb := w.redeem(t, w.code(), o.TxCode, nil); st != 200 {
			t.Fatalf("%d %+v", st, eb)
		}
		if st, eb := w.redeem(t, w.code(), o.TxCode, nil); st != 400 || eb.Error != "invalid_grant" {
			t.Fatalf("reuse: %d %+v", st, eb)
		}
		// The offer object is gone once redeemed.
		var eb errBody
		u, _ := url.Parse(o.OfferURI)
		if st, _ := e.call(t, http.MethodGet, u.Query().Get("credential_offer_uri"), "", nil, nil, &eb); st != 404 {
			t.Fatalf("offer after redemption: %d", st)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		clock := time.Now()
		ex := newEnv(t, func(c *issuer.Config) { c.Now = func() time.Time { return clock } })
		o := ex.offer(t, "citizen-identity")
		w := ex.fetchOffer(t, o.OfferURI)
		clock = clock.Add(issuer.DefaultOfferTTL + time.Second)
		if st, eb := w.redeem(t, w.code(), o.TxCode, nil); st != 400 || eb.Error != "invalid_grant" || !strings.Contains(eb.Description, "expired") {
			t.Fatalf("%d %+v", st, eb)
		}
	})
	t.Run("forged code", func(t *testing.T) {
		o := e.offer(t, "citizen-identity")
		w := e.fetchOffer(t, o.OfferURI)
		b, _ := base64.RawURLEncoding.DecodeString(w.code())
		b[len(b)-1] ^= 1
		if st, eb := w.redeem(t, base64.RawURLEncoding.EncodeToString(b), o.TxCode, nil); st != 400 || eb.Error != "invalid_grant" {
			t.Fatalf("%d %+v", st, eb)
		}
	})
	t.Run("tx_code of another offer", func(t *testing.T) {
		a, b := e.offer(t, "citizen-identity"), e.offer(t, "citizen-identity")
		if a.TxCode == b.TxCode {
			t.Skip("the two random PINs collided (1 in a million)")
		}
		w := e.fetchOffer(t, a.OfferURI)
		if st, eb := w.redeem(t, w.code(), b.TxCode, nil); st != 400 || eb.Error != "invalid_grant" {
			t.Fatalf("%d %+v", st, eb)
		}
	})
	t.Run("unsupported grant", func(t *testing.T) {
		var eb errBody
		st, _ := e.call(t, http.MethodPost, "/issuers/psb/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=client_credentials"), nil, &eb)
		if st != 400 || eb.Error != "unsupported_grant_type" {
			t.Fatalf("%d %+v", st, eb)
		}
	})
	t.Run("body over the limit", func(t *testing.T) {
		var eb errBody
		body := "grant_type=" + strings.Repeat("a", 8<<10)
		st, _ := e.call(t, http.MethodPost, "/issuers/psb/token", "application/x-www-form-urlencoded", strings.NewReader(body), nil, &eb)
		if st != http.StatusRequestEntityTooLarge || eb.Error != "request_too_large" {
			t.Fatalf("%d %+v", st, eb)
		}
	})
}

// TestConcurrentRedeemOneWins: many wallets racing with the same code and
// PIN get exactly one access token.
func TestConcurrentRedeemOneWins(t *testing.T) {
	e := newEnv(t, nil)
	o := e.offer(t, "citizen-identity")
	w := e.fetchOffer(t, o.OfferURI)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ww := *w
			if st, _ := ww.redeem(t, w.code(), o.TxCode, nil); st == 200 {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d wallets redeemed one code", wins)
	}
}

// redeemed returns a wallet holding an access token and a fresh nonce.
func redeemed(t *testing.T, e *env) (*wallet, string) {
	t.Helper()
	o := e.offer(t, "citizen-identity")
	w := e.fetchOffer(t, o.OfferURI)
	if st, eb := w.redeem(t, w.code(), o.TxCode, nil); st != 200 {
		t.Fatalf("token: %d %+v", st, eb)
	}
	return w, w.nonce(t)
}

func TestCredentialEndpointRefusals(t *testing.T) {
	e := newEnv(t, nil)
	key := newKeys(t, 1)[0]
	before := e.issued(t)

	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	privJWK, _ := jose.PrivateJWK(ecKey)
	ecSigner, _ := keys.New(ecKey)
	otherKey := newKeys(t, 1)[0]

	cases := []struct {
		name   string
		status int
		code   string
		// body builds the request from a redeemed wallet and its nonce.
		body func(w *wallet, nonce string) map[string]any
		hdr  func(w *wallet) map[string]string
	}{
		{"wrong aud", 400, "invalid_proof", func(w *wallet, n string) map[string]any {
			c := w.proofClaims(n)
			c["aud"] = "https://evil.example/issuers/psb"
			return req(proof(t, key, nil, c))
		}, nil},
		{"old iat", 400, "invalid_proof", func(w *wallet, n string) map[string]any {
			c := w.proofClaims(n)
			c["iat"] = time.Now().Add(-time.Hour).Unix()
			return req(proof(t, key, nil, c))
		}, nil},
		{"future iat", 400, "invalid_proof", func(w *wallet, n string) map[string]any {
			c := w.proofClaims(n)
			c["iat"] = time.Now().Add(time.Hour).Unix()
			return req(proof(t, key, nil, c))
		}, nil},
		{"missing nonce", 400, "invalid_nonce", func(w *wallet, n string) map[string]any {
			c := w.proofClaims(n)
			delete(c, "nonce")
			return req(proof(t, key, nil, c))
		}, nil},
		{"forged nonce", 400, "invalid_nonce", func(w *wallet, n string) map[string]any {
			return req(proof(t, key, nil, w.proofClaims(strings.ToUpper(n))))
		}, nil},
		{"alg none", 400, "invalid_proof", func(w *wallet, n string) map[string]any {
			jwk, _ := jose.PublicJWK(key.Public())
			h := base64.RawURLEncoding.EncodeToString(mustJSON(map[string]any{"alg": "none", "typ": issuer.TypProof, "jwk": jwk}))
			p := base64.RawURLEncoding.EncodeToString(mustJSON(w.proofClaims(n)))
			return req(h + "." + p + ".")
		}, nil},
		{"HS256 with the public key", 400, "invalid_proof", func(w *wallet, n string) map[string]any {
			jwk, _ := jose.PublicJWK(key.Public())
			h := base64.RawURLEncoding.EncodeToString(mustJSON(map[string]any{"alg": "HS256", "typ": issuer.TypProof, "jwk": jwk}))
			p := base64.RawURLEncoding.EncodeToString(mustJSON(w.proofClaims(n)))
			return req(h + "." + p + ".c2ln")
		}, nil},
		{"embedded private key", 400, "invalid_proof", func(w *wallet, n string) map[string]any {
			return req(proof(t, ecSigner, map[string]any{"jwk": privJWK}, w.proofClaims(n)))
		}, nil},
		{"wrong typ", 400, "invalid_proof", func(w *wallet, n string) map[string]any {
			return req(proof(t, key, map[string]any{"typ": "JWT"}, w.proofClaims(n)))
		}, nil},
		{"kid instead of jwk", 400, "invalid_proof", func(w *wallet, n string) map[string]any {
			return req(proof(t, key, map[string]any{"jwk": nil, "kid": "did:example:123#0"}, w.proofClaims(n)))
		}, nil},
		{"signature by another key", 400, "invalid_proof", func(w *wallet, n string) map[string]any {
			jwk, _ := jose.PublicJWK(otherKey.Public())
			return req(proof(t, key, map[string]any{"jwk": jwk}, w.proofClaims(n)))
		}, nil},
		{"same key twice", 400, "invalid_proof", func(w *wallet, n string) map[string]any {
			p := proof(t, key, nil, w.proofClaims(n))
			return req(p, p)
		}, nil},
		{"more proofs than batch_size", 400, "invalid_credential_request", func(w *wallet, n string) map[string]any {
			var ps []string
			for _, k := range newKeys(t, 6) {
				ps = append(ps, proof(t, k, nil, w.proofClaims(n)))
			}
			return req(ps...)
		}, nil},
		{"no proofs", 400, "invalid_proof", func(w *wallet, n string) map[string]any {
			return map[string]any{"credential_configuration_id": "citizen-identity"}
		}, nil},
		{"legacy singular proof", 400, "invalid_credential_request", func(w *wallet, n string) map[string]any {
			return map[string]any{"credential_configuration_id": "citizen-identity", "proof": map[string]any{"proof_type": "jwt", "jwt": proof(t, key, nil, w.proofClaims(n))}}
		}, nil},
		{"unknown credential_configuration_id", 400, "unknown_credential_configuration", func(w *wallet, n string) map[string]any {
			r := req(proof(t, key, nil, w.proofClaims(n)))
			r["credential_configuration_id"] = "passport"
			return r
		}, nil},
		{"configuration not in the offer", 400, "unknown_credential_configuration", func(w *wallet, n string) map[string]any {
			r := req(proof(t, key, nil, w.proofClaims(n)))
			r["credential_configuration_id"] = "beijing-residence"
			return r
		}, nil},
		{"unknown credential_identifier", 400, "unknown_credential_identifier", func(w *wallet, n string) map[string]any {
			r := req(proof(t, key, nil, w.proofClaims(n)))
			delete(r, "credential_configuration_id")
			r["credential_identifier"] = "cred_nope"
			return r
		}, nil},
		{"both identifiers", 400, "invalid_credential_request", func(w *wallet, n string) map[string]any {
			r := req(proof(t, key, nil, w.proofClaims(n)))
			r["credential_identifier"] = "cred_nope"
			return r
		}, nil},
		{"no access token", 401, "invalid_token", func(w *wallet, n string) map[string]any {
			return req(proof(t, key, nil, w.proofClaims(n)))
		}, func(w *wallet) map[string]string { return map[string]string{} }},
		{"forged access token", 401, "invalid_token", func(w *wallet, n string) map[string]any {
			return req(proof(t, key, nil, w.proofClaims(n)))
		}, func(w *wallet) map[string]string {
			return map[string]string{"Authorization": "Bearer " + strings.ToUpper(w.access)}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, nonce := redeemed(t, e)
			var hdr map[string]string
			if tc.hdr != nil {
				hdr = tc.hdr(w)
			}
			st, out := w.requestCredential(t, tc.body(w, nonce), hdr)
			if st != tc.status || out["error"] != tc.code {
				t.Fatalf("got %d %v, want %d %s", st, out, tc.status, tc.code)
			}
			if tc.status == 401 {
				return
			}
			// The wallet may still get its credential with a good request:
			// a refused request spends nothing.
			good := req(proof(t, key, nil, w.proofClaims(w.nonce(t))))
			if st, out := w.requestCredential(t, good, nil); st != 200 {
				t.Fatalf("good request after refusal: %d %v", st, out)
			}
		})
	}
	// Only the good follow-up requests issued anything.
	want := 0
	for _, tc := range cases {
		if tc.status != 401 {
			want++
		}
	}
	if got := e.issued(t) - before; got != want {
		t.Fatalf("issued %d credentials, want %d", got, want)
	}

	t.Run("body over the limit", func(t *testing.T) {
		w, _ := redeemed(t, e)
		body := map[string]any{"credential_configuration_id": strings.Repeat("a", 70<<10)}
		st, out := w.requestCredential(t, body, nil)
		if st != http.StatusRequestEntityTooLarge || out["error"] != "request_too_large" {
			t.Fatalf("%d %v", st, out)
		}
	})
	t.Run("reused nonce", func(t *testing.T) {
		w1, nonce := redeemed(t, e)
		if st, out := w1.requestCredential(t, req(proof(t, key, nil, w1.proofClaims(nonce))), nil); st != 200 {
			t.Fatalf("%d %v", st, out)
		}
		w2, _ := redeemed(t, e)
		st, out := w2.requestCredential(t, req(proof(t, newKeys(t, 1)[0], nil, w2.proofClaims(nonce))), nil)
		if st != 400 || out["error"] != "invalid_nonce" {
			t.Fatalf("reused nonce: %d %v", st, out)
		}
	})
	t.Run("token replayed across offers", func(t *testing.T) {
		// A token is bound to its offer: once that offer's credential is
		// issued, the token gets nothing more, whatever it asks for.
		w1, nonce := redeemed(t, e)
		if st, out := w1.requestCredential(t, req(proof(t, key, nil, w1.proofClaims(nonce))), nil); st != 200 {
			t.Fatalf("%d %v", st, out)
		}
		w2, nonce2 := redeemed(t, e)
		st, out := w2.requestCredential(t, req(proof(t, key, nil, w2.proofClaims(nonce2))), map[string]string{"Authorization": "Bearer " + w1.access})
		if st != 401 || out["error"] != "invalid_token" {
			t.Fatalf("w1's token on w2's request: %d %v", st, out)
		}
		// w2's own token still works: nothing of w2's was spent.
		if st, out := w2.requestCredential(t, req(proof(t, key, nil, w2.proofClaims(nonce2))), nil); st != 200 {
			t.Fatalf("w2: %d %v", st, out)
		}
	})
}

func req(proofs ...string) map[string]any {
	return map[string]any{"credential_configuration_id": "citizen-identity", "proofs": map[string]any{"jwt": proofs}}
}

func TestDPoPBoundToken(t *testing.T) {
	e := newEnv(t, nil)
	o := e.offer(t, "citizen-identity")
	w := e.fetchOffer(t, o.OfferURI)
	dk := newKeys(t, 1)[0]
	hdr := map[string]string{"DPoP": dpopProof(t, dk, "POST", w.offer.CredentialIssuer+"/token", "")}
	if st, eb := w.redeem(t, w.code(), o.TxCode, hdr); st != 200 || w.tokenType != "DPoP" {
		t.Fatalf("token with DPoP: %d %+v %s", st, eb, w.tokenType)
	}
	nonce := w.nonce(t)
	body := req(proof(t, newKeys(t, 1)[0], nil, w.proofClaims(nonce)))
	// As a Bearer token, without the proof: refused.
	if st, out := w.requestCredential(t, body, map[string]string{"Authorization": "Bearer " + w.access}); st != 401 || out["error"] != "invalid_token" {
		t.Fatalf("DPoP token as Bearer: %d %v", st, out)
	}
	// With a proof by another key: refused.
	other := newKeys(t, 1)[0]
	if st, out := w.requestCredential(t, body, map[string]string{"Authorization": "DPoP " + w.access,
		"DPoP": dpopProof(t, other, "POST", w.meta.CredentialEndpoint, w.access)}); st != 401 || out["error"] != "invalid_token" {
		t.Fatalf("DPoP proof by another key: %d %v", st, out)
	}
	// With the bound key: issued.
	good := dpopProof(t, dk, "POST", w.meta.CredentialEndpoint, w.access)
	if st, out := w.requestCredential(t, body, map[string]string{"Authorization": "DPoP " + w.access, "DPoP": good}); st != 200 {
		t.Fatalf("DPoP request: %d %v", st, out)
	}
}

func TestDeferredIssuance(t *testing.T) {
	e := newEnv(t, nil)
	types, _ := issuer.DemoTypes()
	var o struct {
		issuer.Offer
	}
	if st, _ := e.postJSON(t, "/issuers/psb/api/offers", issuer.OfferRequest{Type: "government-official", Claims: types["government-official"].ExampleClaims}, e.staff(), &o); st != 201 {
		t.Fatalf("offer: %d", st)
	}
	w := e.fetchOffer(t, o.OfferURI)
	if st, eb := w.redeem(t, w.code(), o.TxCode, nil); st != 200 {
		t.Fatalf("token: %d %+v", st, eb)
	}
	body := map[string]any{"credential_configuration_id": "government-official", "proofs": map[string]any{"jwt": []string{proof(t, newKeys(t, 1)[0], nil, w.proofClaims(w.nonce(t)))}}}
	st, out := w.requestCredential(t, body, nil)
	if st != http.StatusAccepted || out["transaction_id"] == nil || out["interval"] == nil || out["credentials"] != nil {
		t.Fatalf("deferred: %d %v", st, out)
	}
	auth := map[string]string{"Authorization": "Bearer " + w.access}
	txID := out["transaction_id"]
	var poll map[string]any
	if st, _ := e.postJSON(t, w.meta.DeferredCredentialEndpoint, map[string]any{"transaction_id": txID}, auth, &poll); st != 202 {
		t.Fatalf("poll before approval: %d %v", st, poll)
	}
	if st, _ := e.postJSON(t, w.meta.DeferredCredentialEndpoint, map[string]any{"transaction_id": "tx_nope"}, auth, &poll); st != 400 || poll["error"] != "invalid_transaction_id" {
		t.Fatalf("unknown transaction: %d %v", st, poll)
	}
	if st, _ := e.postJSON(t, "/issuers/psb/api/credentials/"+o.CredentialID+"/approve", nil, e.staff(), nil); st != 200 {
		t.Fatalf("approve: %d", st)
	}
	poll = nil
	if st, _ := e.postJSON(t, w.meta.DeferredCredentialEndpoint, map[string]any{"transaction_id": txID}, auth, &poll); st != 200 || len(poll["credentials"].([]any)) != 1 {
		t.Fatalf("poll after approval: %d %v", st, poll)
	}
	if st, _ := e.postJSON(t, w.meta.DeferredCredentialEndpoint, map[string]any{"transaction_id": txID}, auth, &poll); st != 400 || poll["error"] != "invalid_transaction_id" {
		t.Fatalf("second poll: %d %v", st, poll)
	}
}

func TestStaffAPIRefusals(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for _, tc := range []struct {
		name, token string
		status      int
		code        string
	}{
		{"no token", "", 401, "unauthorized"},
		{"unknown token", issuer.APITokenPrefix + "nope", 401, "unauthorized"},
	} {
		var eb errBody
		hdr := map[string]string{}
		if tc.token != "" {
			hdr["Authorization"] = "Bearer " + tc.token
		}
		if st, _ := e.postJSON(t, "/issuers/psb/api/offers", map[string]any{}, hdr, &eb); st != tc.status || eb.Error != tc.code {
			t.Errorf("%s: %d %+v", tc.name, st, eb)
		}
	}
	var eb errBody
	if st, _ := e.postJSON(t, "/issuers/psb/api/offers", issuer.OfferRequest{Type: "citizen-identity", Claims: map[string]any{"family_name": "王"}}, e.staff(), &eb); st != 400 || eb.Error != "invalid_claims" {
		t.Errorf("missing claims: %d %+v", st, eb)
	}
	if st, _ := e.postJSON(t, "/issuers/psb/api/offers", issuer.OfferRequest{Type: "passport", Claims: map[string]any{}}, e.staff(), &eb); st != 400 || eb.Error != "unknown_credential_type" {
		t.Errorf("unknown type: %d %+v", st, eb)
	}
	// Staff make and revoke tokens; a revoked token stops working at once.
	var nt struct{ ID, Token string }
	if st, _ := e.postJSON(t, "/issuers/psb/api/tokens", map[string]string{"label": "counter 3"}, e.staff(), &nt); st != 201 || !strings.HasPrefix(nt.Token, issuer.APITokenPrefix) {
		t.Fatalf("create token: %d %+v", st, nt)
	}
	tok := nt.Token
	if st, _ := e.call(t, http.MethodGet, "/issuers/psb/api/types", "", nil, map[string]string{"Authorization": "Bearer " + tok}, nil); st != 200 {
		t.Fatalf("new token: %d", st)
	}
	if st, _ := e.call(t, http.MethodDelete, "/issuers/psb/api/tokens/"+nt.ID, "", nil, e.staff(), nil); st != 204 {
		t.Fatalf("revoke token: %d", st)
	}
	_ = ctx
	if st, _ := e.call(t, http.MethodGet, "/issuers/psb/api/types", "", nil, map[string]string{"Authorization": "Bearer " + tok}, &eb); st != 401 {
		t.Errorf("revoked token: %d", st)
	}
}
