package credential_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"slices"
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

// TestAuthorityKeyIDs: the aki values of a chain are the KeyIdentifiers
// of its certificates' AuthorityKeyIdentifier (OpenID4VP 1.0 §6.1.1.1),
// base64url: the CA's key identifier for a leaf it issued, nothing for a
// self-signed root, never a certificate's own subject key identifier.
func TestAuthorityKeyIDs(t *testing.T) {
	now := time.Now()
	gen := func() *ecdsa.PrivateKey { k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader); return k }
	caKey, issKey := gen(), gen()
	caDER, _ := x509ca.NewRoot(caKey, "City CA", now, 0)
	leafDER, _ := x509ca.Issue(caDER, caKey, issKey.Public(), x509ca.Leaf{CommonName: "PSB"}, now)
	ca, _ := x509.ParseCertificate(caDER)
	leaf, _ := x509.ParseCertificate(leafDER)
	caAKI := base64.RawURLEncoding.EncodeToString(ca.SubjectKeyId)
	leafSKI := base64.RawURLEncoding.EncodeToString(leaf.SubjectKeyId)
	for _, tc := range []struct {
		name string
		x5c  []string
		want []string
		code credential.Code
	}{
		{"leaf issued by the CA", x509ca.EncodeX5C(leafDER), []string{caAKI}, ""},
		{"leaf and its root", x509ca.EncodeX5C(leafDER, caDER), []string{caAKI}, ""},
		{"a self-signed root alone", x509ca.EncodeX5C(caDER), nil, ""},
		{"no chain", nil, nil, ""},
		{"not base64", []string{"%%%"}, nil, credential.CodeMalformed},
		{"not a certificate", []string{"AAAA"}, nil, credential.CodeMalformed},
		{"too long", x509ca.EncodeX5C(leafDER, leafDER, leafDER, leafDER, leafDER, leafDER), nil, credential.CodeMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := credential.AuthorityKeyIDs(tc.x5c)
			if code := credential.CodeOf(err); code != tc.code {
				t.Fatalf("AuthorityKeyIDs() error = %v, want code %q", err, tc.code)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("AuthorityKeyIDs() = %q, want %q", got, tc.want)
			}
			if slices.Contains(got, leafSKI) {
				t.Errorf("AuthorityKeyIDs() = %q holds the leaf's own subject key identifier", got)
			}
		})
	}
}
