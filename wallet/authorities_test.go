package wallet_test

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/x509ca"
	"github.com/tongid/tong/wallet"
	"github.com/tongid/tong/wallet/memstore"
)

// TestMatchTrustedAuthorities: a DCQL query with trusted_authorities of
// type aki matches a credential whose x5c chain has a certificate with
// that AuthorityKeyIdentifier (the test CA's key identifier, for the
// agency certificate it issued), and never a credential without x5c or
// one whose chain names another authority, nor the agency certificate's
// own subject key identifier. Without trusted_authorities both match.
func TestMatchTrustedAuthorities(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now()
	caKey, _ := keys.Generate(nil, keys.ES256)
	otherCAKey, _ := keys.Generate(nil, keys.ES256)
	issKey, _ := keys.Generate(nil, keys.ES256)
	caDER, _ := x509ca.NewRoot(caKey, "Test City CA", now, 0)
	otherDER, _ := x509ca.NewRoot(otherCAKey, "Other CA", now, 0)
	leafDER, err := x509ca.Issue(caDER, caKey, issKey.Public(), x509ca.Leaf{CommonName: "PSB", URIs: []string{"https://issuer.example"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	otherLeafDER, _ := x509ca.Issue(otherDER, otherCAKey, issKey.Public(), x509ca.Leaf{CommonName: "PSB"}, now)
	ca, _ := x509.ParseCertificate(caDER)
	leaf, _ := x509.ParseCertificate(leafDER)
	caKID := base64.RawURLEncoding.EncodeToString(ca.SubjectKeyId)
	leafKID := base64.RawURLEncoding.EncodeToString(leaf.SubjectKeyId)

	w, err := wallet.New(ctx, memstore.New(), []byte("right"), wallet.Options{KDF: quickKDF})
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"family_name": "王", "given_name": "小明", "age_equal_or_over": map[string]any{"18": true, "60": false}}
	add := func(id string, x5c []string) {
		h, _ := keys.Generate(nil, keys.ES256)
		sd, err := credential.IssueVC(issKey.Unwrap(), credential.VC{Issuer: "https://issuer.example", VCT: "urn:tong:vct:citizen-identity:1",
			KeyID: "k1", X5C: x5c, Holder: h.Public(), Expiry: now.Add(24 * time.Hour), Claims: claims,
			Disclosable: []credential.Path{{"family_name"}, {"given_name"}, {"age_equal_or_over", "18"}}}, credential.IssueOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := wallet.AddCopiesForTest(ctx, w, id, "urn:tong:vct:citizen-identity:1", claims, []string{sd}, []crypto.Signer{h.Unwrap()}); err != nil {
			t.Fatal(err)
		}
	}
	add("with-city-x5c", x509ca.EncodeX5C(leafDER))
	add("with-other-x5c", x509ca.EncodeX5C(otherLeafDER))
	add("without-x5c", nil)

	const responseURI = "https://verifier.example/post"
	query := func(authorities string) string {
		return `{"credentials":[{"id":"pid","format":"dc+sd-jwt","meta":{"vct_values":["urn:tong:vct:citizen-identity:1"]},` +
			authorities + `"claims":[{"path":["family_name"]}]}]}`
	}
	for _, tc := range []struct {
		name        string
		authorities string
		want        []string
	}{
		{"no trusted_authorities", "", []string{"with-city-x5c", "with-other-x5c", "without-x5c"}},
		{"the city CA's key identifier", `"trusted_authorities":[{"type":"aki","values":["` + caKID + `"]}],`, []string{"with-city-x5c"}},
		{"one of several values", `"trusted_authorities":[{"type":"etsi_tl","values":["https://lotl.example"]},{"type":"aki","values":["AAAA","` + caKID + `"]}],`, []string{"with-city-x5c"}},
		{"another authority", `"trusted_authorities":[{"type":"aki","values":["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]}],`, nil},
		{"the agency certificate's own key identifier", `"trusted_authorities":[{"type":"aki","values":["` + leafKID + `"]}],`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := url.Values{"client_id": {wallet.PrefixRedirectURI + responseURI}, "response_type": {"vp_token"},
				"response_mode": {"direct_post"}, "response_uri": {responseURI}, "nonce": {"n-1"}, "state": {"st"},
				"dcql_query": {query(tc.authorities)}}
			req, err := w.Match(ctx, "openid4vp://?"+q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range req.Match.Candidates["pid"] {
				got = append(got, m.ID)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Match candidates = %q, want %q", got, tc.want)
			}
			if req.Match.Satisfied != (len(tc.want) > 0) {
				t.Errorf("Match.Satisfied = %v with candidates %q", req.Match.Satisfied, got)
			}
		})
	}
}
