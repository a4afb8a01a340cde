package did

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDIDJWKSpecExamples resolves the examples of the did:jwk spec
// (testdata/did-jwk) and compares the documents with the printed ones.
func TestDIDJWKSpecExamples(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/did-jwk/*.json")
	if len(files) != 2 {
		t.Fatalf("found %d did:jwk examples, want 2", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var ex struct {
				DID         string          `json:"did"`
				DIDURL      string          `json:"didUrl"`
				DIDDocument json.RawMessage `json:"didDocument"`
			}
			readJSON(t, f, &ex)
			want, err := ParseDocument(ex.DIDDocument)
			if err != nil {
				t.Fatal(err)
			}
			got := resolveOK(t, JWKResolver{}, ex.DID).Document
			// Compare as generic JSON so that JWK member order is ignored.
			var a, b any
			json.Unmarshal(mustJSON(t, want), &a)
			json.Unmarshal(mustJSON(t, got), &b)
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("document mismatch (-spec +ours):\n%s", diff)
			}
			rel := AssertionMethod
			if strings.Contains(f, "x25519") {
				rel = KeyAgreement
			}
			if _, err := ResolveKey(t.Context(), JWKResolver{}, ex.DIDURL, rel); err != nil {
				t.Errorf("ResolveKey(%s) = %v", ex.DIDURL, err)
			}
		})
	}
}

func TestDIDJWKRoundTrip(t *testing.T) {
	t.Parallel()
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	for _, pub := range []crypto.PublicKey{edPub, &ec.PublicKey, x.PublicKey()} {
		did, err := NewJWKDID(pub)
		if err != nil {
			t.Fatal(err)
		}
		doc := resolveOK(t, JWKResolver{}, did).Document
		rel := AssertionMethod
		if _, ok := pub.(*ecdh.PublicKey); ok {
			rel = KeyAgreement
			if _, err := doc.KeyFor(AssertionMethod, "#0"); CodeOf(err) != CodeInvalidVerificationMethod {
				t.Errorf("X25519 for assertionMethod = %v", err)
			}
		}
		got, err := doc.KeyFor(rel, did+"#0")
		if err != nil || !got.(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
			t.Errorf("KeyFor(%T) = %v, %v", pub, got, err)
		}
		again, _ := NewJWKDID(pub)
		if again != did {
			t.Errorf("NewJWKDID is not deterministic")
		}
	}
	// The P-256 example of the spec was made the same way.
	var ex struct {
		DID string `json:"did"`
	}
	readJSON(t, "testdata/did-jwk/p256.json", &ex)
	_, pub, err := parseJWKDID(ex.DID)
	if err != nil {
		t.Fatal(err)
	}
	if did, _ := NewJWKDID(pub); did != ex.DID {
		t.Errorf("NewJWKDID(spec key) = %s, want %s", did, ex.DID)
	}
}

func TestDIDJWKUse(t *testing.T) {
	t.Parallel()
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	x := base64.RawURLEncoding.EncodeToString(edPub)
	for _, tc := range []struct {
		use  string
		rels []Relationship
	}{
		{`"sig"`, []Relationship{Authentication, AssertionMethod, CapabilityInvocation, CapabilityDelegation}},
		{`"enc"`, []Relationship{KeyAgreement}},
		{``, allRelationships},
	} {
		jwk := `{"kty":"OKP","crv":"Ed25519","x":"` + x + `"`
		if tc.use != "" {
			jwk += `,"use":` + tc.use
		}
		jwk += `}`
		did := "did:jwk:" + base64.RawURLEncoding.EncodeToString([]byte(jwk))
		doc := resolveOK(t, JWKResolver{}, did).Document
		var got []Relationship
		for _, rel := range allRelationships {
			if len(doc.Relationship(rel)) > 0 {
				got = append(got, rel)
			}
		}
		if !cmp.Equal(got, tc.rels) {
			t.Errorf("use %s: relationships %v, want %v", tc.use, got, tc.rels)
		}
	}
}

func TestDIDJWKRejects(t *testing.T) {
	t.Parallel()
	var rfc8037 struct {
		Private json.RawMessage `json:"private_jwk"`
		Public  json.RawMessage `json:"public_jwk"`
	}
	readJSON(t, "testdata/jose/rfc8037_ed25519_jws.json", &rfc8037)
	var rfc7638 struct {
		JWK json.RawMessage `json:"jwk"`
	}
	readJSON(t, "testdata/jose/rfc7638_jwk_thumbprint.json", &rfc7638)
	enc := func(s string) string { return "did:jwk:" + base64.RawURLEncoding.EncodeToString([]byte(s)) }
	pubJWK := string(rfc8037.Public)
	tests := []struct {
		name string
		did  string
		code Code
		is   error
	}{
		{"private Ed25519 (RFC 8037 A.1)", enc(string(rfc8037.Private)), CodeInvalidDID, ErrPrivateKey},
		{"private EC", enc(`{"kty":"EC","crv":"P-256","x":"igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns","y":"efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIM","d":"gPh-VvVS8MbvKQ9LSVVmfnxnKjHn4Tqj0bmbpehRlpc"}`), CodeInvalidDID, ErrPrivateKey},
		{"symmetric", enc(`{"kty":"oct","k":"AAAA"}`), CodeInvalidDID, ErrPrivateKey},
		{"RSA (RFC 7638)", enc(string(rfc7638.JWK)), CodeMethodNotSupported, ErrUnsupportedKeyType},
		{"P-384", enc(`{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}`), CodeMethodNotSupported, ErrUnsupportedKeyType},
		{"P-256 off curve", enc(`{"kty":"EC","crv":"P-256","x":"igrFmi0whuihKnj9R3Om1SoMph72wUGeFaBbzG2vzns","y":"efsX5b10x8yjyrj4ny3pGfLcY7Xby1KzgqOdqnsrJIQ"}`), CodeInvalidDID, ErrInvalidPublicKey},
		{"short x", enc(`{"kty":"OKP","crv":"Ed25519","x":"AAAA"}`), CodeInvalidDID, ErrInvalidPublicKey},
		{"no kty", enc(`{"crv":"Ed25519"}`), CodeInvalidDID, nil},
		{"not object", enc(`"x"`), CodeInvalidDID, nil},
		{"duplicate member", enc(strings.Replace(pubJWK, `{`, `{"x":"AAAA",`, 1)), CodeInvalidDID, nil},
		{"use not string", enc(strings.Replace(pubJWK, `{`, `{"use":1,`, 1)), CodeInvalidDID, nil},
		{"padding", "did:jwk:" + base64.URLEncoding.EncodeToString([]byte(pubJWK+" ")), CodeInvalidDID, nil},
		{"std alphabet", "did:jwk:eyJ+eyJ/", CodeInvalidDID, nil},
		{"dot", "did:jwk:eyJ.eyJ", CodeInvalidDID, nil},
		{"non-zero trailing bits", "did:jwk:" + enc(pubJWK)[8:len(enc(pubJWK))-1] + "B", CodeInvalidDID, nil},
		{"pct-encoded", "did:jwk:%41" + enc(pubJWK)[8:], CodeInvalidDID, nil},
		{"not base64", "did:jwk:!!!", CodeInvalidDID, nil},
		{"empty JSON", enc(``), CodeInvalidDID, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := JWKResolver{}.Resolve(t.Context(), tc.did, ResolveOptions{})
			if CodeOf(err) != tc.code || tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Resolve = %v, want %s (%v)", err, tc.code, tc.is)
			}
		})
	}
	// The public half of the RFC 8037 key works.
	resolveOK(t, JWKResolver{}, enc(pubJWK))
}
