package oid4vci_test

import (
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"

	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/issuer"
)

// dpopWith signs a DPoP proof with claims changed by mod.
func dpopWith(tb testing.TB, key *keys.Signer, htm, htu, accessToken string, mod func(map[string]any)) string {
	tb.Helper()
	jwk, _ := jose.PublicJWK(key.Public())
	claims := map[string]any{"jti": base64.RawURLEncoding.EncodeToString(mustJSON(time.Now().UnixNano())), "htm": htm, "htu": htu, "iat": time.Now().Unix()}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if mod != nil {
		mod(claims)
	}
	jws, err := jose.SignRaw(key, mustJSON(map[string]any{"alg": key.Alg(), "typ": issuer.TypDPoP, "jwk": jwk}), mustJSON(claims))
	if err != nil {
		tb.Fatal(err)
	}
	return jws
}

// TestDPoPHostile: RFC 9449 §4.3's checks at the credential endpoint, each
// refused with invalid_dpop_proof (or invalid_token when the proof is
// not bound to the token), and the token still works afterwards with a
// good proof: nothing was spent by the refused requests.
//
// Spec: RFC 9449 #section-4.3: "the htm claim matches the HTTP method of
// the current request", "the htu claim matches the HTTP URI value for the
// HTTP request", "the creation time of the JWT, as determined by either
// the iat claim or a server managed timestamp via the nonce claim, is
// within an acceptable window", "if presented to a protected resource in
// conjunction with an access token, ensure that the value of the ath claim
// equals the hash of that access token".
func TestDPoPHostile(t *testing.T) {
	e := newEnv(t, nil)
	o := e.offer(t, "citizen-identity")
	w := e.fetchOffer(t, o.OfferURI)
	dk := newKeys(t, 1)[0]
	if st, eb := w.redeem(t, w.code(), o.TxCode, map[string]string{"DPoP": dpopProof(t, dk, "POST", w.offer.CredentialIssuer+"/token", "")}); st != 200 || w.tokenType != "DPoP" {
		t.Fatalf("token with DPoP: %d %+v", st, eb)
	}
	ep := w.meta.CredentialEndpoint
	reused := dpopWith(t, dk, "POST", ep, w.access, nil)
	for _, tc := range []struct {
		name  string
		proof string
	}{
		{"wrong htu", dpopWith(t, dk, "POST", w.offer.CredentialIssuer+"/nonce", w.access, nil)},
		{"wrong htm", dpopWith(t, dk, "GET", ep, w.access, nil)},
		{"wrong ath", dpopWith(t, dk, "POST", ep, "another-token", nil)},
		{"no ath", dpopWith(t, dk, "POST", ep, w.access, func(c map[string]any) { delete(c, "ath") })},
		{"stale iat", dpopWith(t, dk, "POST", ep, w.access, func(c map[string]any) { c["iat"] = time.Now().Add(-time.Hour).Unix() })},
		{"iat in the future", dpopWith(t, dk, "POST", ep, w.access, func(c map[string]any) { c["iat"] = time.Now().Add(time.Hour).Unix() })},
		{"no jti", dpopWith(t, dk, "POST", ep, w.access, func(c map[string]any) { delete(c, "jti") })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := req(proof(t, newKeys(t, 1)[0], nil, w.proofClaims(w.nonce(t))))
			st, out := w.requestCredential(t, body, map[string]string{"Authorization": "DPoP " + w.access, "DPoP": tc.proof})
			// At a protected resource a bad proof makes the DPoP token
			// unusable for this request: 401 invalid_token, with the
			// reason in error_description.
			if st != 401 || out["error"] != "invalid_token" {
				t.Fatalf("%s: %d %v, want 401 invalid_token", tc.name, st, out)
			}
		})
	}
	// A jti is single use: the first request with it passes, a replay is
	// refused.
	body := req(proof(t, newKeys(t, 1)[0], nil, w.proofClaims(w.nonce(t))))
	if st, out := w.requestCredential(t, body, map[string]string{"Authorization": "DPoP " + w.access, "DPoP": reused}); st != 200 {
		t.Fatalf("first use of a proof: %d %v", st, out)
	}
	body = req(proof(t, newKeys(t, 1)[0], nil, w.proofClaims(w.nonce(t))))
	if st, out := w.requestCredential(t, body, map[string]string{"Authorization": "DPoP " + w.access, "DPoP": reused}); st != 401 || out["error"] != "invalid_token" {
		t.Fatalf("reused jti: %d %v, want 401 invalid_token", st, out)
	}
}

// TestDPoPHostileAtToken: at the token endpoint a bad DPoP proof is
// invalid_dpop_proof (RFC 9449 §5), and the pre-authorized code is not
// spent by the refused request.
func TestDPoPHostileAtToken(t *testing.T) {
	e := newEnv(t, nil)
	o := e.offer(t, "citizen-identity")
	w := e.fetchOffer(t, o.OfferURI)
	dk := newKeys(t, 1)[0]
	tokenURL := w.offer.CredentialIssuer + "/token"
	for _, tc := range []struct {
		name  string
		proof string
	}{
		{"wrong htu", dpopWith(t, dk, "POST", w.offer.CredentialIssuer+"/credential", "", nil)},
		{"wrong htm", dpopWith(t, dk, "PUT", tokenURL, "", nil)},
		{"stale iat", dpopWith(t, dk, "POST", tokenURL, "", func(c map[string]any) { c["iat"] = time.Now().Add(-time.Hour).Unix() })},
	} {
		if st, eb := w.redeem(t, w.code(), o.TxCode, map[string]string{"DPoP": tc.proof}); st != 400 || eb.Error != "invalid_dpop_proof" {
			t.Errorf("%s: %d %+v, want 400 invalid_dpop_proof", tc.name, st, eb)
		}
	}
	good := dpopWith(t, dk, "POST", tokenURL, "", nil)
	if st, eb := w.redeem(t, w.code(), o.TxCode, map[string]string{"DPoP": good}); st != 200 || w.tokenType != "DPoP" {
		t.Fatalf("good proof after refusals: %d %+v", st, eb)
	}
}
