// Package interop_test runs Tong against independent implementations of
// OpenID4VCI 1.0, OpenID4VP 1.0 and SD-JWT VC from npm (the @openid4vc
// and @sd-jwt libraries, dcql, jose; pinned in package-lock.json), under
// Debian's nodejs. docs/interop.md lists the scenarios and the gaps.
package interop_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/tongid/tong/internal/tongtest"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/verifier"
)

func offer(t *testing.T, c *tongtest.City, agency, typ string) *issuer.Offer {
	t.Helper()
	types, _ := issuer.DemoTypes()
	o, err := c.Issuer.CreateOffer(context.Background(), agency, "interop", issuer.OfferRequest{Type: typ, Claims: types[typ].ExampleClaims})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestForeignWalletWithTong: the npm wallet receives a citizen identity
// from Tong's issuer (pre-authorized code with tx_code), then answers
// Tong's verifier (decentralized_identifier client, signed request
// object) with only the claims the DCQL query asks for.
func TestForeignWalletWithTong(t *testing.T) {
	node(t)
	c := tongtest.New(t, tongtest.Options{})
	o := offer(t, c, "psb", "citizen-identity")
	s := session(t, c, "identity-basic", verifier.NewRequest{})
	steps := runWallet(t, map[string]any{"registry": c.URL, "steps": []map[string]any{
		{"receive": map[string]any{"offer": o.OfferURI, "tx_code": o.TxCode}},
		{"present": map[string]any{"request_uri": s.RequestURI}},
	}})
	got, sent := steps[0], steps[1]
	if !got.ok() {
		t.Fatalf("foreign wallet could not receive from Tong: %v", got)
	}
	if got["typ"] != "dc+sd-jwt" || got["vct"] != "urn:tong:vct:citizen-identity:1" {
		t.Errorf("received typ %v vct %v", got["typ"], got["vct"])
	}
	if !sent.ok() {
		t.Fatalf("foreign wallet could not present to Tong: %v", sent)
	}
	if sent["client_prefix"] != "decentralized_identifier" || sent["status"] != float64(200) {
		t.Errorf("presentation: prefix %v, HTTP %v %v", sent["client_prefix"], sent["status"], sent["body"])
	}
	// Only the requested claims left the wallet.
	disclosed := sent["disclosed"].(map[string]any)["pid"].(map[string]any)
	var names []string
	for k := range disclosed {
		names = append(names, k)
	}
	slices.Sort(names)
	if want := []string{"age_equal_or_over", "family_name", "given_name"}; !slices.Equal(names, want) {
		t.Errorf("disclosed %v, want %v", names, want)
	}
	if age := disclosed["age_equal_or_over"].(map[string]any); len(age) != 1 || age["18"] != true {
		t.Errorf("disclosed age_equal_or_over %v, want only 18", age)
	}
	r := result(t, c, "identity-basic", s.ID)
	if r.Status != verifier.StatusAccepted || r.Result == nil {
		b, _ := json.Marshal(r)
		t.Fatalf("Tong's verifier did not accept: %s", b)
	}
	cl := r.Result.Credentials[0].Claims
	if cl["family_name"] != "王" || cl["given_name"] != "小明" {
		t.Errorf("verified claims %v", cl)
	}
	if _, ok := cl["personal_administrative_number"]; ok {
		t.Error("a claim that was not asked for reached the verifier")
	}
}
