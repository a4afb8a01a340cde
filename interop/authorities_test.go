package interop_test

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/internal/x509ca"
	"github.com/tongid/tong/verifier"
)

// TestForeignWalletTrustedAuthorities: a Tong counter asks, with DCQL
// trusted_authorities of type aki (HAIP 1.0), for a citizen identity from
// an agency the city CA certified. The npm wallet reads the
// AuthorityKeyIdentifiers of the credential's x5c chain (the same value
// Tong's wallet reads: the city CA's key identifier) and lets the dcql
// library evaluate the query: before the PSB holds a certificate its
// credential does not match and the wallet cannot answer; after, it
// matches, and Tong's verifier, checking the chain itself, accepts.
func TestForeignWalletTrustedAuthorities(t *testing.T) {
	node(t)
	c, _, caDER, caKey := haipCA(t)
	ca, _ := x509.ParseCertificate(caDER)
	kid := base64.RawURLEncoding.EncodeToString(ca.SubjectKeyId)
	purpose := fmt.Sprintf(`{"id":"identity-certified","display":[{"name":"Identity check (certified agency)","locale":"en"}],
 "dcql_query":{"credentials":[{"id":"pid","format":"dc+sd-jwt","meta":{"vct_values":["urn:tong:vct:citizen-identity:1"]},
  "trusted_authorities":[{"type":"aki","values":[%q]}],"claims":[{"path":["family_name"]},{"path":["given_name"]}]}]}}`, kid)
	if _, err := c.Verifier.PutPurpose(t.Context(), []byte(purpose)); err != nil {
		t.Fatal(err)
	}
	_, tok, err := c.Verifier.AddCounter(t.Context(), "dongcheng", "Certified desk", []string{"identity-certified"})
	if err != nil {
		t.Fatal(err)
	}
	c.CounterTokens["identity-certified"] = tok

	o := offer(t, c, "psb", "citizen-identity")
	s := session(t, c, "identity-certified", verifier.NewRequest{})
	steps := runWallet(t, map[string]any{"registry": c.URL, "steps": []map[string]any{
		{"receive": map[string]any{"offer": o.OfferURI, "tx_code": o.TxCode}},
		{"present": map[string]any{"request_uri": s.RequestURI}},
	}})
	if !steps[0].ok() || steps[0]["x5c"] != false {
		t.Fatalf("npm wallet received %v, want a credential without x5c", steps[0])
	}
	if e, _ := steps[1]["error"].(string); steps[1].ok() || !strings.Contains(e, "cannot answer") {
		t.Fatalf("npm wallet answered with an uncertified credential: %v", steps[1])
	}

	psb, _ := c.Keys.Load("org-psb")
	leaf, err := x509ca.Issue(caDER, caKey, psb.Public(), x509ca.Leaf{CommonName: "PSB", URIs: []string{c.URL + "/issuers/psb"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Issuer.SetCertificate(t.Context(), "psb", x509ca.EncodeX5C(leaf)); err != nil {
		t.Fatal(err)
	}
	o = offer(t, c, "psb", "citizen-identity")
	s = session(t, c, "identity-certified", verifier.NewRequest{})
	steps = runWallet(t, map[string]any{"registry": c.URL, "steps": []map[string]any{
		{"receive": map[string]any{"offer": o.OfferURI, "tx_code": o.TxCode}},
		{"present": map[string]any{"request_uri": s.RequestURI}},
	}})
	if akis, _ := steps[0]["akis"].([]any); !steps[0].ok() || len(akis) != 1 || akis[0] != kid {
		t.Fatalf("npm wallet received %v, want the city CA's key identifier %s as its aki", steps[0], kid)
	}
	if !steps[1].ok() {
		t.Fatalf("npm wallet did not answer: %v", steps[1])
	}
	r := result(t, c, "identity-certified", s.ID)
	checked := false
	for _, ch := range r.Result.Checks {
		checked = checked || (ch.Name == "trusted_authorities" && ch.OK)
	}
	if r.Status != verifier.StatusAccepted || !checked {
		t.Fatalf("Tong's verifier: %s checks %+v", r.Status, r.Result.Checks)
	}
}
