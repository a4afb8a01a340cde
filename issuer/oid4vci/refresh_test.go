package oid4vci_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/issuer"
)

// TestRefresh: a wallet that used up its copies fetches fresh ones with
// its refresh token, for as long as the credential is valid; the issuer's
// database alone cannot read the claims it keeps for that.
func TestRefresh(t *testing.T) {
	e := newEnv(t, nil)
	o := e.offer(t, "citizen-identity")
	w := e.fetchOffer(t, o.OfferURI)
	form := url.Values{"grant_type": {issuer.GrantPreAuthorizedCode}, "pre-authorized_code": {w.code()}, "tx_code": {o.TxCode}}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if st, _ := e.call(t, http.MethodPost, "/issuers/psb/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil, &tok); st != 200 || tok.RefreshToken == "" {
		t.Fatalf("token: %d %+v", st, tok)
	}
	w.access = tok.AccessToken
	if st, out := w.requestCredential(t, req(proof(t, newKeys(t, 1)[0], nil, w.proofClaims(w.nonce(t)))), nil); st != 200 {
		t.Fatalf("credential: %d %v", st, out)
	}
	var sealed []byte
	if err := e.db.Reader().QueryRow(`SELECT sealed_claims FROM issuer_credentials WHERE id = $1`, o.CredentialID).Scan(&sealed); err != nil || len(sealed) == 0 {
		t.Fatalf("sealed claims: %v", err)
	}
	if strings.Contains(string(sealed), "110101199005170034") {
		t.Fatal("the database holds the claims in the clear")
	}

	refresh := func(rt string) (int, string, string) {
		var out struct {
			AccessToken string `json:"access_token"`
			Error       string `json:"error"`
		}
		f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
		st, _ := e.call(t, http.MethodPost, "/issuers/psb/token", "application/x-www-form-urlencoded", strings.NewReader(f.Encode()), nil, &out)
		return st, out.AccessToken, out.Error
	}
	st, at, _ := refresh(tok.RefreshToken)
	if st != 200 {
		t.Fatalf("refresh: %d", st)
	}
	w.access = at
	keys := newKeys(t, 2)
	nonce := w.nonce(t)
	st, out := w.requestCredential(t, req(proof(t, keys[0], nil, w.proofClaims(nonce)), proof(t, keys[1], nil, w.proofClaims(nonce))), nil)
	if st != 200 || len(out["credentials"].([]any)) != 2 {
		t.Fatalf("refreshed credential: %d %v", st, out)
	}
	v := &credential.Verifier{Keys: &credential.JWTVCIssuerMetadata{Client: e.client, AllowLoopbackHTTP: true}}
	res, err := v.Verify(context.Background(), out["credentials"].([]any)[0].(map[string]any)["credential"].(string), credential.VerifyOptions{})
	if err != nil || res.Claims["family_name"] != "王" {
		t.Fatalf("refreshed copy: %v %v", err, res)
	}
	info, _ := e.svc.CredentialInfo(context.Background(), "psb", o.CredentialID)
	if info.Copies != 3 {
		t.Errorf("copies = %d, want 3", info.Copies)
	}
	// A forged refresh token, or one for a revoked credential, gets nothing.
	for _, forged := range []string{flipChar(tok.RefreshToken, len(tok.RefreshToken)/2), flipChar(tok.RefreshToken, len(tok.RefreshToken)-1)} {
		if st, _, code := refresh(forged); st != 400 || code != "invalid_grant" {
			t.Errorf("forged refresh token: %d %s", st, code)
		}
	}
	if _, err := e.svc.SetStatus(context.Background(), "psb", "test", o.CredentialID, issuer.StatusRevoked); err != nil {
		t.Fatal(err)
	}
	if st, _, code := refresh(tok.RefreshToken); st != 400 || code != "invalid_grant" {
		t.Errorf("refresh after revocation: %d %s", st, code)
	}
	// An access token from before the revocation is refused too.
	if st, out := w.requestCredential(t, req(proof(t, newKeys(t, 1)[0], nil, w.proofClaims(w.nonce(t)))), nil); st != 400 || out["error"] != "credential_request_denied" {
		t.Errorf("refresh token access after revocation: %d %v", st, out)
	}
}

// TestPurgeWipesClaims: offers that can no longer be issued lose the
// citizen's data: unredeemed past their expiry, and redeemed past the
// access token's lifetime.
func TestPurgeWipesClaims(t *testing.T) {
	clock := time.Now()
	e := newEnv(t, func(c *issuer.Config) { c.Now = func() time.Time { return clock } })
	unredeemed := e.offer(t, "citizen-identity")
	redeemedOffer := e.offer(t, "citizen-identity")
	w := e.fetchOffer(t, redeemedOffer.OfferURI)
	if st, eb := w.redeem(t, w.code(), redeemedOffer.TxCode, nil); st != 200 {
		t.Fatalf("token: %d %+v", st, eb)
	}
	count := func() int {
		var n int
		if err := e.db.Reader().QueryRow(`SELECT COUNT(*) FROM issuer_offers WHERE claims IS NOT NULL`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := e.svc.PurgeExpired(context.Background()); err != nil || count() != 2 {
		t.Fatalf("purge removed live claims: %v, %d left", err, count())
	}
	clock = clock.Add(issuer.DefaultOfferTTL + time.Minute)
	if err := e.svc.PurgeExpired(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Fatalf("%d offers still hold claims (%s, %s)", n, unredeemed.ID, redeemedOffer.ID)
	}
}

// flipChar changes the base64url character at i to another one, always.
func flipChar(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}
