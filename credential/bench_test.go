package credential

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"testing"
)

// The reference: one ecdsa.Verify of a P-256 signature over a SHA-256
// digest. Verifying a presentation needs two (issuer and KB-JWT).
func BenchmarkRawES256Verify(b *testing.B) {
	f := newFixture(b)
	d := sha256.Sum256([]byte("tong"))
	r, s, _ := ecdsa.Sign(rand.Reader, f.issuer, d[:])
	for b.Loop() {
		if !ecdsa.Verify(&f.issuer.PublicKey, d[:], r, s) {
			b.Fatal("verify failed")
		}
	}
}

// A citizen-identity SD-JWT VC with 8 claims, 3 disclosed, plus a KB-JWT,
// all ES256, with the issuer key already resolved. Goal: ≤ 2.3× RawES256Verify.
func BenchmarkVerifyPresentation(b *testing.B) {
	f := newFixture(b)
	p := f.present(b, Path{"given_name"}, Path{"family_name"}, Path{"age_equal_or_over", "18"})
	v := f.verifier()
	ctx := context.Background()
	opts := VerifyOptions{KeyBinding: &testKB}
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := v.Verify(ctx, p, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// The reference for issuance: one ES256 signature.
func BenchmarkRawES256Sign(b *testing.B) {
	f := newFixture(b)
	d := sha256.Sum256([]byte("tong"))
	for b.Loop() {
		if _, _, err := ecdsa.Sign(rand.Reader, f.issuer, d[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// Issuing the same credential. Goal: ≤ 1.5× RawES256Sign.
func BenchmarkIssue(b *testing.B) {
	f := newFixture(b)
	vc := VC{
		Issuer: testIssuer, VCT: "urn:tong:vct:citizen-identity:1", KeyID: "psb-1",
		IssuedAt: f.now, Expiry: f.now.AddDate(1, 0, 0), Holder: &f.holder.PublicKey,
		Status: &StatusRef{Index: 42, URI: testIssuer + "/status/1"}, Claims: citizenClaims(), Disclosable: citizenSD,
	}
	for b.Loop() {
		if _, err := IssueVC(f.issuer, vc, IssueOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
