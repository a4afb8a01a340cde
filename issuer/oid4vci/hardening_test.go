package oid4vci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/issuer"
)

// TestVCTBelongsToItsFirstAgency (issue 16, item 12): a vct belongs to the
// agency that defined it first, and a vct under an agency's issuer URL
// belongs to that agency; another agency's attempt to define it, through
// the staff API, is refused with vct_taken and changes nothing.
func TestVCTBelongsToItsFirstAgency(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	if err := e.svc.AddAgency(ctx, issuer.Agency{Slug: "housing", Name: "Housing commission", IssuerURL: e.srv.URL + "/issuers/housing",
		DID: "did:tong:zTestHousing", KeyName: "org-psb", KeyID: "did:tong:zTestHousing#key-1"}); err != nil {
		t.Fatal(err)
	}
	housingToken, _, err := e.svc.CreateAPIToken(ctx, "housing", "operator", "test")
	if err != nil {
		t.Fatal(err)
	}
	types, _ := issuer.DemoTypes()
	put := func(slug, token string, ty issuer.CredentialType) (int, string) {
		t.Helper()
		body, _ := json.Marshal(ty)
		var eb errBody
		st, _ := e.call(t, http.MethodPut, "/issuers/"+slug+"/api/types/"+ty.ID, "application/json", bytes.NewReader(body),
			map[string]string{"Authorization": "Bearer " + token}, &eb)
		return st, eb.Error
	}
	pid := *types["citizen-identity"]

	// Housing copies the PSB's identity type, under its own id.
	copied := pid
	copied.ID = "fake-identity"
	if st, code := put("housing", housingToken, copied); st != http.StatusConflict || code != "vct_taken" {
		t.Fatalf("another agency's vct: %d %q, want 409 vct_taken", st, code)
	}
	// A vct under the PSB's issuer URL is the PSB's, even if nobody
	// defined it yet.
	squat := pid
	squat.ID, squat.VCT = "squat", e.ag.IssuerURL+"/types/passport"
	if st, code := put("housing", housingToken, squat); st != http.StatusConflict || code != "vct_taken" {
		t.Fatalf("a vct under another agency's issuer URL: %d %q, want 409 vct_taken", st, code)
	}
	if ts, _ := e.svc.Types(ctx, "housing"); len(ts) != 0 {
		t.Fatalf("housing has types %v after refusals", ts)
	}
	// Its own vcts, and the PSB's updates of its own, are fine.
	own := pid
	own.ID, own.VCT = "housing-id", e.srv.URL+"/issuers/housing/types/id"
	if st, code := put("housing", housingToken, own); st != 200 {
		t.Fatalf("own vct: %d %q", st, code)
	}
	pid.Display = append(pid.Display, issuer.Display{Name: "Identity", Locale: "en"})
	if st, code := put("psb", e.token, pid); st != 200 {
		t.Fatalf("the owner updates its type: %d %q", st, code)
	}
	// Once housing owns a vct, the PSB cannot take it either.
	stolen := own
	stolen.ID = "stolen"
	if st, code := put("psb", e.token, stolen); st != http.StatusConflict || code != "vct_taken" {
		t.Fatalf("the PSB takes housing's vct: %d %q", st, code)
	}
}

// TestRefreshTokensRotate (issue 16, item 11): each refresh_token grant
// returns a new refresh token and the old one stops working; presenting
// an old one again revokes the whole family (RFC 9700 §4.14.2), with
// the access tokens it gave; and an access token from the refresh grant
// serves one credential request, as one from the pre-authorized code
// grant does.
func TestRefreshTokensRotate(t *testing.T) {
	e := newEnv(t, nil)
	o := e.offer(t, "citizen-identity")
	w := e.fetchOffer(t, o.OfferURI)
	form := url.Values{"grant_type": {issuer.GrantPreAuthorizedCode}, "pre-authorized_code": {w.code()}, "tx_code": {o.TxCode}}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if st, _ := e.call(t, http.MethodPost, "/issuers/psb/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil, &tok); st != 200 {
		t.Fatalf("token: %d", st)
	}
	w.access = tok.AccessToken
	credential := func() (int, string) {
		t.Helper()
		st, out := w.requestCredential(t, req(proof(t, newKeys(t, 1)[0], nil, w.proofClaims(w.nonce(t)))), nil)
		code, _ := out["error"].(string)
		return st, code
	}
	if st, code := credential(); st != 200 {
		t.Fatalf("credential: %d %s", st, code)
	}
	if st, code := credential(); st != 401 || code != "invalid_token" {
		t.Fatalf("pre-authorized access token used twice: %d %s", st, code)
	}
	refresh := func(rt string) (int, string, string, string) {
		t.Helper()
		var out struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
			Error        string `json:"error"`
		}
		f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
		st, _ := e.call(t, http.MethodPost, "/issuers/psb/token", "application/x-www-form-urlencoded", strings.NewReader(f.Encode()), nil, &out)
		return st, out.AccessToken, out.RefreshToken, out.Error
	}
	rt0 := tok.RefreshToken
	st, at1, rt1, _ := refresh(rt0)
	if st != 200 || rt1 == "" || rt1 == rt0 {
		t.Fatalf("refresh: %d, rotated %v", st, rt1 != rt0)
	}
	w.access = at1
	if st, code := credential(); st != 200 {
		t.Fatalf("credential with the refreshed access token: %d %s", st, code)
	}
	if st, code := credential(); st != 401 || code != "invalid_token" {
		t.Fatalf("refreshed access token used twice: %d %s, want 401 invalid_token", st, code)
	}
	st, at2, rt2, _ := refresh(rt1)
	if st != 200 || rt2 == rt1 {
		t.Fatalf("second refresh: %d", st)
	}
	// A stolen rt0 comes back: refused, and the family is revoked.
	if st, _, _, code := refresh(rt0); st != 400 || code != "invalid_grant" {
		t.Fatalf("reused refresh token: %d %s, want 400 invalid_grant", st, code)
	}
	if st, _, _, code := refresh(rt2); st != 400 || code != "invalid_grant" {
		t.Fatalf("newest refresh token after a reuse: %d %s, want 400 invalid_grant", st, code)
	}
	w.access = at2
	if st, code := credential(); st != 401 || code != "invalid_token" {
		t.Fatalf("access token of a revoked family: %d %s, want 401 invalid_token", st, code)
	}
}

// TestDPoPBoundRefreshToken (issue 16, item 11): a refresh token from a
// DPoP-bound grant is bound to the same key (RFC 9449 §5, for public
// clients): refreshing without a proof, or with another key's, is
// refused and spends nothing; with the key it works and rotates.
func TestDPoPBoundRefreshToken(t *testing.T) {
	e := newEnv(t, nil)
	o := e.offer(t, "citizen-identity")
	w := e.fetchOffer(t, o.OfferURI)
	dk := newKeys(t, 1)[0]
	tokenURL := w.offer.CredentialIssuer + "/token"
	form := url.Values{"grant_type": {issuer.GrantPreAuthorizedCode}, "pre-authorized_code": {w.code()}, "tx_code": {o.TxCode}}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		TokenType    string `json:"token_type"`
		Error        string `json:"error"`
	}
	if st, _ := e.call(t, http.MethodPost, tokenURL, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()),
		map[string]string{"DPoP": dpopProof(t, dk, "POST", tokenURL, "")}, &tok); st != 200 || tok.TokenType != "DPoP" {
		t.Fatalf("token: %d %+v", st, tok)
	}
	w.access = tok.AccessToken
	body := req(proof(t, newKeys(t, 1)[0], nil, w.proofClaims(w.nonce(t))))
	if st, out := w.requestCredential(t, body, map[string]string{"Authorization": "DPoP " + w.access,
		"DPoP": dpopProof(t, dk, "POST", w.meta.CredentialEndpoint, w.access)}); st != 200 {
		t.Fatalf("credential: %d %v", st, out)
	}
	refresh := func(hdr map[string]string) (int, string, string, string) {
		t.Helper()
		var out struct {
			RefreshToken string `json:"refresh_token"`
			TokenType    string `json:"token_type"`
			Error        string `json:"error"`
		}
		f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
		st, _ := e.call(t, http.MethodPost, tokenURL, "application/x-www-form-urlencoded", strings.NewReader(f.Encode()), hdr, &out)
		return st, out.RefreshToken, out.TokenType, out.Error
	}
	if st, _, _, code := refresh(nil); st != 400 || code != "invalid_grant" {
		t.Fatalf("refresh without the DPoP proof: %d %s, want 400 invalid_grant", st, code)
	}
	if st, _, _, code := refresh(map[string]string{"DPoP": dpopProof(t, newKeys(t, 1)[0], "POST", tokenURL, "")}); st != 400 || code != "invalid_grant" {
		t.Fatalf("refresh with another key's proof: %d %s, want 400 invalid_grant", st, code)
	}
	st, rt, typ, code := refresh(map[string]string{"DPoP": dpopProof(t, dk, "POST", tokenURL, "")})
	if st != 200 || typ != "DPoP" || rt == "" || rt == tok.RefreshToken {
		t.Fatalf("refresh with the bound key (the refused tries spent nothing): %d %s %s", st, typ, code)
	}
}

type noKeys struct{}

func (noKeys) Load(string) (*keys.Signer, error) { return nil, errors.New("no keys") }

// TestVCTOwnersFilledOnUpgrade: on a database from before vct ownership,
// the owners are filled from the stored types when the migration runs, so
// the agencies' existing vcts are theirs from the start.
func TestVCTOwnersFilledOnUpgrade(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	// Back to schema version 2: no owners table, no refresh generations.
	for _, q := range []string{
		`DROP TABLE issuer_vct_owners`,
		`ALTER TABLE issuer_credentials DROP COLUMN refresh_gen`,
		`DELETE FROM schema_migrations WHERE component = 'issuer' AND version > 2`,
	} {
		if _, err := e.db.Writer().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := issuer.New(ctx, issuer.Config{DB: e.db, Keys: noKeys{}, Secret: make([]byte, 32), AllowLoopbackHTTP: true}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.db.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM issuer_vct_owners WHERE agency = 'psb'`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("owners after the upgrade: %d %v, want the PSB's 3 vcts", n, err)
	}
	if err := e.svc.AddAgency(ctx, issuer.Agency{Slug: "housing", Name: "Housing commission", IssuerURL: e.srv.URL + "/issuers/housing",
		DID: "did:tong:zTestHousing", KeyName: "org-psb", KeyID: "did:tong:zTestHousing#key-1"}); err != nil {
		t.Fatal(err)
	}
	types, _ := issuer.DemoTypes()
	copied := *types["citizen-identity"]
	copied.ID = "fake-identity"
	if err := e.svc.PutType(ctx, "housing", "operator", &copied); issuer.CodeOf(err) != issuer.CodeVCTTaken {
		t.Fatalf("PutType(another agency's vct) after the upgrade = %v, want vct_taken", err)
	}
}
