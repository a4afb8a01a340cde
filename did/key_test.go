package did

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func readJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
}

type jwkJSON struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
	D   string `json:"d,omitempty"`
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func resolveOK(tb testing.TB, r Resolver, did string) *Result {
	tb.Helper()
	res, err := r.Resolve(tb.Context(), did, ResolveOptions{})
	if err != nil {
		tb.Fatalf("Resolve(%q) = %v", did, err)
	}
	if res.Document == nil || res.Document.ID != did {
		tb.Fatalf("Resolve(%q) gave document %+v", did, res.Document)
	}
	if err := res.Document.Validate(); err != nil {
		tb.Fatalf("Resolve(%q) gave an invalid document: %v", did, err)
	}
	return res
}

// TestDIDKeySpecVectors checks the DIDs printed in did:key v0.9 "Test
// Vectors" (testdata/did-key/spec_test_vectors.json).
func TestDIDKeySpecVectors(t *testing.T) {
	t.Parallel()
	var file struct {
		Vectors []struct {
			DID                  string  `json:"did"`
			PublicKeyHex         string  `json:"public_key_hex"`
			CompressedPointHex   string  `json:"compressed_point_hex"`
			PublicJWK            jwkJSON `json:"public_jwk"`
			VerificationMethodID string  `json:"verification_method_id"`
		} `json:"vectors"`
		Printed json.RawMessage `json:"ed25519_with_x25519_did_document_as_printed"`
	}
	readJSON(t, "testdata/did-key/spec_test_vectors.json", &file)
	if len(file.Vectors) != 3 {
		t.Fatalf("found %d vectors, want 3", len(file.Vectors))
	}
	for _, v := range file.Vectors {
		t.Run(v.DID, func(t *testing.T) {
			pub, err := ParseKeyDID(v.DID)
			if err != nil {
				t.Fatalf("ParseKeyDID = %v", err)
			}
			switch k := pub.(type) {
			case ed25519.PublicKey:
				if hex.EncodeToString(k) != v.PublicKeyHex {
					t.Errorf("key = %x, want %s", []byte(k), v.PublicKeyHex)
				}
			case *ecdsa.PublicKey:
				b, _ := k.Bytes()
				if got := hex.EncodeToString(compressP256(b)); got != v.CompressedPointHex {
					t.Errorf("point = %s, want %s", got, v.CompressedPointHex)
				}
			default:
				t.Fatalf("key type %T", pub)
			}
			jwk, err := publicJWK(pub)
			if err != nil {
				t.Fatal(err)
			}
			var got jwkJSON
			json.Unmarshal(jwk, &got)
			if diff := cmp.Diff(v.PublicJWK, got); diff != "" {
				t.Errorf("JWK mismatch (-want +got):\n%s", diff)
			}
			if again, err := NewKeyDID(pub); err != nil || again != v.DID {
				t.Errorf("NewKeyDID = %q, %v; want %q", again, err, v.DID)
			}
			res := resolveOK(t, KeyResolver{}, v.DID)
			doc := res.Document
			if len(doc.VerificationMethods) != 1 || doc.VerificationMethods[0].ID != v.VerificationMethodID ||
				doc.VerificationMethods[0].Type != TypeMultikey {
				t.Errorf("verificationMethod = %+v", doc.VerificationMethods)
			}
			for _, rel := range []Relationship{Authentication, AssertionMethod, CapabilityInvocation, CapabilityDelegation} {
				k, err := doc.KeyFor(rel, v.VerificationMethodID)
				if err != nil || !k.(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
					t.Errorf("KeyFor(%s) = %v, %v", rel, k, err)
				}
			}
			if _, err := doc.KeyFor(KeyAgreement, v.VerificationMethodID); CodeOf(err) != CodeInvalidRelationshipForVerificationMethod {
				t.Errorf("KeyFor(keyAgreement) = %v, want %s", err, CodeInvalidRelationshipForVerificationMethod)
			}
		})
	}

	// The printed Ed25519 document embeds the X25519 key in keyAgreement,
	// while §Document Creation Algorithm adds it to verificationMethod and
	// references it; both say the same thing, so compare key by key.
	printed, err := ParseDocument(file.Printed)
	if err != nil {
		t.Fatalf("printed document: %v", err)
	}
	ours := resolveOK(t, KeyResolver{EnableEncryptionKeyDerivation: true}, printed.ID).Document
	if diff := cmp.Diff(printed.Context, ours.Context); diff != "" {
		t.Errorf("@context mismatch (-printed +ours):\n%s", diff)
	}
	if diff := cmp.Diff(printed.VerificationMethods[0], ours.VerificationMethods[0]); diff != "" {
		t.Errorf("verification method mismatch (-printed +ours):\n%s", diff)
	}
	for _, rel := range allRelationships {
		pr, or := printed.Relationship(rel), ours.Relationship(rel)
		if len(pr) != 1 || len(or) != 1 {
			t.Fatalf("%s: printed %d entries, ours %d", rel, len(pr), len(or))
		}
		kid := pr[0].Ref
		if pr[0].Embedded != nil {
			kid = pr[0].Embedded.ID
		}
		want, err1 := printed.KeyFor(rel, kid)
		got, err2 := ours.KeyFor(rel, kid)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: KeyFor(%q) = %v / %v", rel, kid, err1, err2)
		}
		if !got.(interface{ Equal(crypto.PublicKey) bool }).Equal(want) {
			t.Errorf("%s: keys differ", rel)
		}
	}
}

// TestDIDKeyEd25519X25519Vectors checks testdata/did-key/ed25519-x25519.json:
// each seed gives the DID, and the derived X25519 key matches.
func TestDIDKeyEd25519X25519Vectors(t *testing.T) {
	t.Parallel()
	var file map[string]struct {
		Seed string `json:"seed"`
		Ver  struct {
			ID              string   `json:"id"`
			PublicKeyBase58 string   `json:"publicKeyBase58"`
			PublicKeyJwk    *jwkJSON `json:"publicKeyJwk"`
		} `json:"verificationKeyPair"`
		KA struct {
			ID              string   `json:"id"`
			PublicKeyBase58 string   `json:"publicKeyBase58"`
			PublicKeyJwk    *jwkJSON `json:"publicKeyJwk"`
		} `json:"keyAgreementKeyPair"`
	}
	readJSON(t, "testdata/did-key/ed25519-x25519.json", &file)
	if len(file) != 5 {
		t.Fatalf("found %d vectors, want 5", len(file))
	}
	keyBytes := func(b58 string, jwk *jwkJSON) []byte {
		if jwk != nil {
			b, err := base64.RawURLEncoding.DecodeString(jwk.X)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		b, err := base58Decode(b58)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for did, v := range file {
		t.Run(did, func(t *testing.T) {
			seed, _ := hex.DecodeString(v.Seed)
			pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
			if got, _ := NewKeyDID(pub); got != did {
				t.Errorf("NewKeyDID(seed %s) = %s", v.Seed, got)
			}
			parsed, err := ParseKeyDID(did)
			if err != nil {
				t.Fatal(err)
			}
			if want := keyBytes(v.Ver.PublicKeyBase58, v.Ver.PublicKeyJwk); !bytes.Equal(parsed.(ed25519.PublicKey), want) {
				t.Errorf("key = %x, want %x", parsed, want)
			}
			x, err := ed25519ToX25519(pub)
			if err != nil {
				t.Fatal(err)
			}
			if want := keyBytes(v.KA.PublicKeyBase58, v.KA.PublicKeyJwk); !bytes.Equal(x.Bytes(), want) {
				t.Errorf("X25519 = %x, want %x", x.Bytes(), want)
			}
			doc := resolveOK(t, KeyResolver{EnableEncryptionKeyDerivation: true}, did).Document
			_, kaFrag, _ := strings.Cut(v.KA.ID, "#")
			k, err := doc.KeyFor(KeyAgreement, "#"+kaFrag)
			if err != nil {
				t.Fatalf("KeyFor(keyAgreement, #%s) = %v", kaFrag, err)
			}
			if !k.(*ecdh.PublicKey).Equal(x) {
				t.Errorf("keyAgreement key differs")
			}
			if _, err := doc.KeyFor(AssertionMethod, "#"+kaFrag); CodeOf(err) != CodeInvalidRelationshipForVerificationMethod {
				t.Errorf("X25519 key for assertionMethod: %v", err)
			}
		})
	}
}

// TestDIDKeyNISTVectors checks testdata/did-key/nist-curves.json: the P-256
// DIDs resolve to the printed keys; P-384 and P-521 are not implemented.
func TestDIDKeyNISTVectors(t *testing.T) {
	t.Parallel()
	var file map[string]struct {
		VM struct {
			Type            string   `json:"type"`
			PublicKeyJwk    *jwkJSON `json:"publicKeyJwk"`
			PrivateKeyJwk   *jwkJSON `json:"privateKeyJwk"`
			PublicKeyBase58 string   `json:"publicKeyBase58"`
		} `json:"verificationMethod"`
	}
	readJSON(t, "testdata/did-key/nist-curves.json", &file)
	if len(file) != 7 {
		t.Fatalf("found %d vectors, want 7", len(file))
	}
	p256 := 0
	for did, v := range file {
		t.Run(did, func(t *testing.T) {
			crv := "P-256"
			if v.VM.PublicKeyJwk != nil {
				crv = v.VM.PublicKeyJwk.Crv
			}
			if crv != "P-256" {
				_, err := KeyResolver{}.Resolve(t.Context(), did, ResolveOptions{})
				if CodeOf(err) != CodeMethodNotSupported || !errors.Is(err, ErrUnsupportedKeyType) {
					t.Errorf("Resolve(%s key) = %v, want %s wrapping ErrUnsupportedKeyType", crv, err, CodeMethodNotSupported)
				}
				return
			}
			p256++
			pub, err := ParseKeyDID(did)
			if err != nil {
				t.Fatal(err)
			}
			if v.VM.PublicKeyJwk != nil {
				got, _ := publicJWK(pub)
				want := mustJSON(t, v.VM.PublicKeyJwk)
				var g, w jwkJSON
				json.Unmarshal(got, &g)
				json.Unmarshal(want, &w)
				if g != w {
					t.Errorf("JWK = %s, want %s", got, want)
				}
				// The private JWK's d gives the same public key.
				d, _ := base64.RawURLEncoding.DecodeString(v.VM.PrivateKeyJwk.D)
				priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
				if err != nil || !priv.PublicKey.Equal(pub) {
					t.Errorf("private key does not match: %v", err)
				}
			} else {
				raw, _ := base58Decode(v.VM.PublicKeyBase58)
				b, _ := pub.(*ecdsa.PublicKey).Bytes()
				if !bytes.Equal(raw, compressP256(b)) {
					t.Errorf("publicKeyBase58 = %x, want %x", raw, compressP256(b))
				}
			}
			doc := resolveOK(t, KeyResolver{}, did).Document
			k, err := doc.KeyFor(AssertionMethod, did+"#"+strings.TrimPrefix(did, "did:key:"))
			if err != nil || !k.(*ecdsa.PublicKey).Equal(pub) {
				t.Errorf("KeyFor = %v, %v", k, err)
			}
		})
	}
}

func TestDIDKeyRejects(t *testing.T) {
	t.Parallel()
	mk := func(codec uint64, raw []byte) string {
		return "did:key:z" + base58Encode(append(appendUvarint(nil, codec), raw...))
	}
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	notOnCurve := bytes.Repeat([]byte{0x11}, 32)
	notOnCurve[0] = 2 // y = 0x1111…1102 has no x on Ed25519
	for ed25519PointValid(notOnCurve) {
		notOnCurve[0]++
	}
	tests := []struct {
		name string
		did  string
		code Code
		is   error
	}{
		{"x25519", mk(codecX25519Pub, x.PublicKey().Bytes()), CodeMethodNotSupported, ErrUnsupportedKeyType},
		{"secp256k1", mk(0xe7, append([]byte{2}, bytes.Repeat([]byte{1}, 32)...)), CodeMethodNotSupported, ErrUnsupportedKeyType},
		{"bls", mk(0xeb, make([]byte, 96)), CodeMethodNotSupported, ErrUnsupportedKeyType},
		{"unknown codec", mk(0x9999, make([]byte, 32)), CodeMethodNotSupported, ErrUnsupportedKeyType},
		{"ed25519 short", mk(codecEd25519Pub, make([]byte, 31)), CodeInvalidDID, ErrInvalidPublicKey},
		{"ed25519 long", mk(codecEd25519Pub, make([]byte, 33)), CodeInvalidDID, ErrInvalidPublicKey},
		{"ed25519 off curve", mk(codecEd25519Pub, notOnCurve), CodeInvalidDID, ErrInvalidPublicKey},
		{"p256 uncompressed", mk(codecP256Pub, append([]byte{4}, make([]byte, 64)...)), CodeInvalidDID, ErrInvalidPublicKey},
		{"p256 off curve", mk(codecP256Pub, append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...)), CodeInvalidDID, ErrInvalidPublicKey},
		{"non-minimal varint", "did:key:z" + base58Encode(append([]byte{0xed, 0x81, 0x00}, make([]byte, 32)...)), CodeInvalidDID, ErrInvalidPublicKey},
		{"base64url multibase", "did:key:u7QE", CodeInvalidDID, nil},
		{"bad base58", "did:key:z6Mk0OIl", CodeInvalidDID, ErrInvalidPublicKey},
		{"version", "did:key:1:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", CodeInvalidDID, nil},
		{"other method", "did:web:example.com", CodeInvalidDID, nil},
		{"DID URL", "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#x", CodeInvalidDID, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := KeyResolver{}.Resolve(t.Context(), tc.did, ResolveOptions{})
			if CodeOf(err) != tc.code || tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Resolve(%q) = %v, want %s (%v)", tc.did, err, tc.code, tc.is)
			}
		})
	}
	if _, err := NewKeyDID(x.PublicKey()); !errors.Is(err, ErrUnsupportedKeyType) {
		t.Errorf("NewKeyDID(X25519) = %v", err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := NewKeyDID(&p384.PublicKey); !errors.Is(err, ErrUnsupportedKeyType) {
		t.Errorf("NewKeyDID(P-384) = %v", err)
	}
	_, err := KeyResolver{}.Resolve(t.Context(), "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", ResolveOptions{VersionID: "1"})
	if CodeOf(err) != CodeFeatureNotSupported {
		t.Errorf("Resolve with versionId = %v", err)
	}
	_, err = KeyResolver{}.Resolve(t.Context(), "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", ResolveOptions{Accept: "application/cbor"})
	if CodeOf(err) != CodeRepresentationNotSupported {
		t.Errorf("Resolve with accept cbor = %v", err)
	}
}

func TestDIDKeyRoundTrip(t *testing.T) {
	t.Parallel()
	for range 50 {
		edPub, _, _ := ed25519.GenerateKey(rand.Reader)
		ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		for _, pub := range []crypto.PublicKey{edPub, &ec.PublicKey} {
			did, err := NewKeyDID(pub)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseKeyDID(did)
			if err != nil || !got.(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
				t.Fatalf("ParseKeyDID(NewKeyDID) = %v, %v", got, err)
			}
		}
	}
}

// TestDIDKeyMangling changes every valid did:key test vector in every way a
// byte can change and cuts every substring out of it: each result either
// fails with a coded error or is a different valid key whose DID is itself.
// It never panics.
func TestDIDKeyMangling(t *testing.T) {
	t.Parallel()
	var dids []string
	for _, glob := range []string{"testdata/did-key/*.json"} {
		files, _ := filepath.Glob(glob)
		if len(files) == 0 {
			t.Fatalf("no files match %s", glob)
		}
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, m := range didKeyRE.FindAllString(string(b), -1) {
				if _, err := ParseKeyDID(m); err == nil && !contains(dids, m) {
					dids = append(dids, m)
				}
			}
		}
	}
	if len(dids) < 8 {
		t.Fatalf("found %d valid did:key values, want at least 8", len(dids))
	}
	if testing.Short() {
		dids = dids[:2]
	}
	check := func(orig, s string) {
		pub, err := ParseKeyDID(s)
		if err != nil {
			if CodeOf(err) == "" {
				t.Fatalf("ParseKeyDID(%q) error without code: %v", s, err)
			}
			return
		}
		if s == orig {
			return
		}
		again, err := NewKeyDID(pub)
		if err != nil || again != s {
			t.Fatalf("ParseKeyDID(%q) accepted a non-canonical DID (re-encodes to %q, %v)", s, again, err)
		}
		origPub, _ := ParseKeyDID(orig)
		if origPub.(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
			t.Fatalf("ParseKeyDID(%q) gave the key of %q", s, orig)
		}
	}
	for _, did := range dids {
		for i := 0; i <= len(did); i++ {
			for j := i; j <= len(did); j++ {
				check(did, did[i:j])
				check(did, did[:i]+did[j:])
			}
		}
		b := []byte(did)
		for i := range b {
			orig := b[i]
			for c := range 256 {
				b[i] = byte(c)
				check(did, string(b))
			}
			b[i] = orig
		}
	}
}

var didKeyRE = regexpMust(`did:key:z[1-9A-HJ-NP-Za-km-z]+`)

func contains(s []string, v string) bool {
	for _, e := range s {
		if e == v {
			return true
		}
	}
	return false
}

// FuzzResolveStatic feeds arbitrary DIDs to the did:key and did:jwk
// resolvers: no panics, every error has a code, and every document they
// return is valid and names a usable key.
func FuzzResolveStatic(f *testing.F) {
	for _, tc := range loadSyntaxCases(f) {
		f.Add(tc.input)
	}
	files, _ := filepath.Glob("testdata/did-*/*.json")
	for _, file := range files {
		b, _ := os.ReadFile(file)
		for _, m := range regexpMust(`did:(key|jwk):[A-Za-z0-9_-]+`).FindAllString(string(b), -1) {
			f.Add(m)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range []Resolver{KeyResolver{EnableEncryptionKeyDerivation: true}, JWKResolver{}} {
			res, err := r.Resolve(context.Background(), s, ResolveOptions{})
			if err != nil {
				if CodeOf(err) == "" {
					t.Fatalf("error without code: %v", err)
				}
				continue
			}
			if err := res.Document.Validate(); err != nil {
				t.Fatalf("invalid document for %q: %v", s, err)
			}
			vm := res.Document.VerificationMethods[0]
			if _, err := PublicKey(&vm); err != nil {
				t.Fatalf("PublicKey for %q: %v", s, err)
			}
		}
	})
}
