package did

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"
)

// BenchmarkResolveKey measures turning a kid into a key, beside the
// signature verification it precedes, so the added cost is visible.
func BenchmarkResolveKey(b *testing.B) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	p256DID, _ := NewKeyDID(&ec.PublicKey)
	edDID, _ := NewKeyDID(edPub)
	m, _ := NewMulti(map[string]Resolver{"key": KeyResolver{}, "jwk": JWKResolver{}})
	cache, _ := NewCache(CacheConfig{Resolver: m, TTL: time.Hour})
	kid := func(d string) string { return d + "#" + d[len("did:key:"):] }
	digest := sha256.Sum256([]byte("payload"))
	sig, _ := ecdsa.SignASN1(rand.Reader, ec, digest[:])
	edSig := ed25519.Sign(edPriv, []byte("payload"))

	b.Run("raw-ES256-verify", func(b *testing.B) {
		for b.Loop() {
			ecdsa.VerifyASN1(&ec.PublicKey, digest[:], sig)
		}
	})
	b.Run("raw-Ed25519-verify", func(b *testing.B) {
		for b.Loop() {
			ed25519.Verify(edPub, []byte("payload"), edSig)
		}
	})
	for _, tc := range []struct {
		name string
		r    Resolver
		kid  string
	}{
		{"did:key-P256/multi", m, kid(p256DID)},
		{"did:key-Ed25519/multi", m, kid(edDID)},
		{"did:key-P256/cache", cache, kid(p256DID)},
		{"did:key-Ed25519/cache", cache, kid(edDID)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := ResolveKey(b.Context(), tc.r, tc.kid, AssertionMethod); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseDocument(b *testing.B) {
	raw := loadDocuments(b)["tong_kitchen_sink.json"]
	for b.Loop() {
		if _, err := ParseDocument(raw); err != nil {
			b.Fatal(err)
		}
	}
}
