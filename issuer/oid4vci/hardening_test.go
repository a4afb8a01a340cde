package oid4vci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

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
