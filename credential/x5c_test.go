package credential_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/x509ca"
)

// TestX5CIssuerKeys: a credential signed with an x5c header verifies
// through X509IssuerKeys when the chain reaches the trust list and the
// leaf names the issuer; otherwise it is refused with a stable code.
func TestX5CIssuerKeys(t *testing.T) {
	now := time.Now()
	gen := func() *ecdsa.PrivateKey { k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader); return k }
	caKey, otherCAKey, issKey := gen(), gen(), gen()
	ca, _ := x509ca.NewRoot(caKey, "City CA", now, 0)
	otherCA, _ := x509ca.NewRoot(otherCAKey, "Other CA", now, 0)
	const iss = "https://psb.example.gov.cn/issuers/psb"
	leaf, _ := x509ca.Issue(ca, caKey, issKey.Public(), x509ca.Leaf{CommonName: "PSB", URIs: []string{iss}}, now)
	byHost, _ := x509ca.Issue(ca, caKey, issKey.Public(), x509ca.Leaf{CommonName: "PSB", DNSNames: []string{"psb.example.gov.cn"}}, now)
	otherName, _ := x509ca.Issue(ca, caKey, issKey.Public(), x509ca.Leaf{CommonName: "Housing", URIs: []string{"https://housing.example.gov.cn"}}, now)
	untrusted, _ := x509ca.Issue(otherCA, otherCAKey, issKey.Public(), x509ca.Leaf{CommonName: "PSB", URIs: []string{iss}}, now)
	tl, _ := x509ca.NewTrustList(ca)
	v := &credential.Verifier{Keys: &credential.IssuerKeys{X5C: credential.X509IssuerKeys{TrustList: tl}}}
	for _, tc := range []struct {
		name string
		x5c  []string
		want credential.Code
	}{
		{"leaf names the issuer URL", x509ca.EncodeX5C(leaf), ""},
		{"leaf names the issuer host", x509ca.EncodeX5C(byHost), ""},
		{"leaf names another issuer", x509ca.EncodeX5C(otherName), credential.CodeIssuerRefused},
		{"chain does not reach the trust list", x509ca.EncodeX5C(untrusted), credential.CodeIssuerUnknown},
		{"no x5c (and no other resolver)", nil, credential.CodeIssuerUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sdjwt, err := credential.IssueVC(issKey, credential.VC{Issuer: iss, VCT: "urn:x", KeyID: "k1", X5C: tc.x5c,
				Claims: map[string]any{"given_name": "Xiaoming"}, Disclosable: []credential.Path{{"given_name"}}}, credential.IssueOptions{})
			if err != nil {
				t.Fatal(err)
			}
			jws, _ := jose.Parse(strings.SplitN(sdjwt, "~", 2)[0], 1<<20)
			if len(jws.Header.X5C) != len(tc.x5c) || jws.Header.Kid != "k1" {
				t.Fatalf("header x5c %d kid %q", len(jws.Header.X5C), jws.Header.Kid)
			}
			_, err = v.Verify(context.Background(), sdjwt, credential.VerifyOptions{})
			if got := credential.CodeOf(err); got != tc.want {
				t.Errorf("Verify = %v (%q), want %q", err, got, tc.want)
			}
		})
	}
}
