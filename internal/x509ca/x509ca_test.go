package x509ca_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/tongid/tong/internal/x509ca"
)

func key(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestVerify(t *testing.T) {
	now := time.Now()
	caKey, otherKey, leafKey := key(t), key(t), key(t)
	ca, err := x509ca.NewRoot(caKey, "Beijing City Trust Authority", now, 0)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := x509ca.NewRoot(otherKey, "Some Other CA", now, 0)
	leaf, err := x509ca.Issue(ca, caKey, leafKey.Public(), x509ca.Leaf{CommonName: "Dongcheng counter", Organization: "Dongcheng"}, now)
	if err != nil {
		t.Fatal(err)
	}
	foreignLeaf, _ := x509ca.Issue(other, otherKey, leafKey.Public(), x509ca.Leaf{CommonName: "impostor"}, now)
	selfSigned, _ := x509ca.NewRoot(leafKey, "self", now, 0)
	tl, err := x509ca.NewTrustList(ca)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		x5c  []string
		at   time.Time
		want error
	}{
		{"leaf issued by the city CA", x509ca.EncodeX5C(leaf), now, nil},
		{"issued by a CA not on the trust list", x509ca.EncodeX5C(foreignLeaf), now, x509ca.ErrUntrusted},
		{"self-signed leaf", x509ca.EncodeX5C(selfSigned), now, x509ca.ErrMalformed},
		{"chain includes the trust anchor", x509ca.EncodeX5C(leaf, ca), now, x509ca.ErrMalformed},
		{"expired", x509ca.EncodeX5C(leaf), now.Add(2 * x509ca.DefaultLeafValidity), x509ca.ErrUntrusted},
		{"not base64 DER", []string{"bm90IGEgY2VydGlmaWNhdGU="}, now, x509ca.ErrMalformed},
		{"empty", nil, now, x509ca.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, der, err := tl.Verify(tc.x5c, tc.at)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
			if tc.want == nil && (c.Subject.CommonName != "Dongcheng counter" || x509ca.Hash(der) != x509ca.Hash(leaf)) {
				t.Errorf("Verify returned %v", c.Subject)
			}
		})
	}
}

func TestIssueRefusesNonCA(t *testing.T) {
	now := time.Now()
	caKey := key(t)
	ca, _ := x509ca.NewRoot(caKey, "CA", now, 0)
	leaf, _ := x509ca.Issue(ca, caKey, key(t).Public(), x509ca.Leaf{CommonName: "a"}, now)
	if _, err := x509ca.Issue(leaf, caKey, key(t).Public(), x509ca.Leaf{CommonName: "b"}, now); err == nil {
		t.Error("Issue signed with an end-entity certificate as its issuer")
	}
	c, _ := x509.ParseCertificate(leaf)
	if c.IsCA || c.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("leaf IsCA %v KeyUsage %v", c.IsCA, c.KeyUsage)
	}
}

func TestPEMRoundTrip(t *testing.T) {
	caKey := key(t)
	ca, _ := x509ca.NewRoot(caKey, "CA", time.Now(), 0)
	got, err := x509ca.ParsePEM(x509ca.EncodePEM(ca))
	if err != nil || len(got) != 1 || string(got[0]) != string(ca) {
		t.Fatalf("ParsePEM(EncodePEM) = %d certs, %v", len(got), err)
	}
	if _, err := x509ca.ParsePEM([]byte("nothing")); err == nil {
		t.Error("ParsePEM accepted text without a certificate")
	}
}

// Spec: OpenID4VP 1.0's example x509_hash value is a 43-character
// base64url SHA-256.
func TestHashShape(t *testing.T) {
	if h := x509ca.Hash([]byte("x")); len(h) != 43 {
		t.Errorf("Hash length %d, want 43", len(h))
	}
}
