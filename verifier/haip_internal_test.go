package verifier

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwe"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// TestDecryptResponseSpecVector decrypts OpenID4VP 1.0's example
// encrypted response with the private key the spec gives.
func TestDecryptResponseSpecVector(t *testing.T) {
	raw, err := os.ReadFile("testdata/openid4vp-1.0-encrypted-response.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Expect   string `json:"expect"`
		Kid      string `json:"kid"`
		JWK      struct{ D string }
		Response string          `json:"response"`
		VPToken  json.RawMessage `json:"vp_token"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.Expect != "success" {
		t.Fatalf("vector: %v (expect %q)", err, v.Expect)
	}
	form, err := decryptResponse(v.Response, v.JWK.D, v.Kid)
	if err != nil {
		t.Fatalf("decryptResponse(spec example) = %v", err)
	}
	var got, want any
	if err := json.Unmarshal([]byte(form.Get("vp_token")), &got); err != nil {
		t.Fatalf("vp_token %q is not JSON", form.Get("vp_token"))
	}
	json.Unmarshal(v.VPToken, &want)
	if gb, _ := json.Marshal(got); string(gb) != string(must(json.Marshal(want))) {
		t.Errorf("vp_token = %s, want %s", gb, v.VPToken)
	}
	// The same vector under another session's kid is refused.
	if _, err := decryptResponse(v.Response, v.JWK.D, "other"); CodeOf(err) != CodeDecryptionFailed {
		t.Errorf("decryptResponse with another kid = %v, want %s", err, CodeDecryptionFailed)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkDecryptResponse: what direct_post.jwt adds to a response: one
// ECDH-ES P-256 key agreement and an AES-GCM open of a typical vp_token
// (jwx), beside the raw ECDH cost.
func BenchmarkDecryptResponse(b *testing.B) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := jwk.Import(&priv.PublicKey)
	vp := strings.Repeat("x", 2500) // about one SD-JWT VC presentation
	payload, _ := json.Marshal(map[string]any{"vp_token": map[string][]string{"pid": {vp}}, "state": "s"})
	hdr := jwe.NewHeaders()
	_ = hdr.Set("kid", "k")
	compact, err := jwe.Encrypt(payload, jwe.WithKey(jwa.ECDH_ES(), pub), jwe.WithContentEncryption(jwa.A256GCM()), jwe.WithProtectedHeaders(hdr))
	if err != nil {
		b.Fatal(err)
	}
	d, err := priv.Bytes()
	if err != nil {
		b.Fatal(err)
	}
	scalar := base64.RawURLEncoding.EncodeToString(d)
	b.Run("decryptResponse", func(b *testing.B) {
		for b.Loop() {
			if _, err := decryptResponse(string(compact), scalar, "k"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw ECDH P-256", func(b *testing.B) {
		e, _ := priv.ECDH()
		other, _ := ecdh.P256().GenerateKey(rand.Reader)
		for b.Loop() {
			if _, err := e.ECDH(other.PublicKey()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
