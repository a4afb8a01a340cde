package jose

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"strings"
	"testing"

	"github.com/tongid/tong/internal/keys"
)

type rfc8037 struct {
	PrivateJWK json.RawMessage `json:"private_jwk"`
	PublicJWK  json.RawMessage `json:"public_jwk"`
	Thumbprint string          `json:"jwk_thumbprint_sha256_A3"`
	Payload    string          `json:"payload_utf8"`
	SigningIn  string          `json:"signing_input"`
	CompactJWS string          `json:"compact_jws"`
	Protected  json.RawMessage `json:"protected_header"`
}

func loadRFC8037(t *testing.T) rfc8037 {
	t.Helper()
	raw, err := os.ReadFile("testdata/rfc8037_ed25519_jws.json")
	if err != nil {
		t.Fatal(err)
	}
	var v rfc8037
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRFC8037(t *testing.T) {
	t.Parallel()
	v := loadRFC8037(t)
	priv, err := ParsePrivateJWK(v.PrivateJWK)
	if err != nil {
		t.Fatalf("ParsePrivateJWK(A.1) = %v", err)
	}
	pub, err := ParsePublicJWK(v.PublicJWK)
	if err != nil {
		t.Fatalf("ParsePublicJWK(A.1) = %v", err)
	}
	if tp, _ := Thumbprint(pub); tp != v.Thumbprint {
		t.Errorf("Thumbprint(A.1) = %s, want %s (A.3)", tp, v.Thumbprint)
	}
	// A.4: Ed25519 is deterministic, so signing reproduces the JWS.
	got, err := SignRaw(priv, []byte(`{"alg":"EdDSA"}`), []byte(v.Payload))
	if err != nil || got != v.CompactJWS {
		t.Errorf("SignRaw(A.4) = %s, %v; want %s", got, err, v.CompactJWS)
	}
	// A.5: verification.
	j, err := Parse(v.CompactJWS, 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	if j.SigningInput != v.SigningIn || j.Payload != v.Payload {
		t.Errorf("Parse(A.4) signing input %q payload %q", j.SigningInput, j.Payload)
	}
	if err := j.Verify(pub); err != nil {
		t.Errorf("Verify(A.4) = %v", err)
	}
	// A private JWK is refused where a public one is expected.
	if _, err := ParsePublicJWK(v.PrivateJWK); CodeOf(err) != CodeInvalidKey {
		t.Errorf("ParsePublicJWK(private JWK) = %v, want %s", err, CodeInvalidKey)
	}
}

func TestThumbprintP256(t *testing.T) {
	t.Parallel()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	j, _ := PublicJWK(&k.PublicKey)
	canon, _ := json.Marshal(map[string]string{"kty": j.Kty, "crv": j.Crv, "x": j.X, "y": j.Y}) // sorted keys
	sum := sha256.Sum256(canon)
	got, _ := Thumbprint(&k.PublicKey)
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); got != want {
		t.Errorf("Thumbprint = %s, want %s", got, want)
	}
	if kid, _ := keys.Thumbprint(&k.PublicKey); kid != got {
		t.Errorf("keys.Thumbprint = %s, jose.Thumbprint = %s; want equal", kid, got)
	}
}

func TestAppendPublicJWKMatchesMarshal(t *testing.T) {
	t.Parallel()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ed, _, _ := ed25519.GenerateKey(rand.Reader)
	for _, pub := range []crypto.PublicKey{&ec.PublicKey, ed} {
		j, err := PublicJWK(pub)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(j)
		got, err := AppendPublicJWK([]byte("prefix"), pub)
		if err != nil || string(got) != "prefix"+string(want) {
			t.Errorf("AppendPublicJWK(%T) = %s, %v; want prefix%s", pub, got, err, want)
		}
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := AppendPublicJWK(nil, &p384.PublicKey); !errors.Is(err, &Error{Code: CodeInvalidKey}) {
		t.Errorf("P-384: err = %v, want %s", err, CodeInvalidKey)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	wrapped, _ := keys.Generate(nil, keys.ES256) // DER-signing crypto.Signer
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		alg  string
	}{
		{"ES256", ec, ES256},
		{"ES256 through crypto.Signer", wrapped, ES256},
		{"EdDSA", ed, EdDSA},
		{"Ed25519 (RFC 9864)", ed, Ed25519},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok, err := Sign(tc.key, map[string]any{"alg": tc.alg, "typ": "example+jwt"}, []byte(`{"a":1}`))
			if err != nil {
				t.Fatal(err)
			}
			j, err := Parse(tok, 1<<10)
			if err != nil {
				t.Fatal(err)
			}
			if j.Header.Alg != tc.alg || j.Header.Typ != "example+jwt" || string(j.Payload) != `{"a":1}` {
				t.Errorf("Parse(Sign()) = %+v", j.Header)
			}
			if err := j.Verify(tc.key.Public()); err != nil {
				t.Errorf("Verify = %v", err)
			}
			other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			_, otherEd, _ := ed25519.GenerateKey(rand.Reader)
			var wrong crypto.PublicKey = &other.PublicKey
			if tc.alg != ES256 {
				wrong = otherEd.Public()
			}
			if err := j.Verify(wrong); CodeOf(err) != CodeInvalidSignature {
				t.Errorf("Verify(other key) = %v, want %s", err, CodeInvalidSignature)
			}
		})
	}
	if _, err := Sign(ec, map[string]any{"alg": EdDSA}, nil); CodeOf(err) != CodeAlgKeyMismatch {
		t.Errorf("Sign(P-256 key, alg EdDSA) = %v, want %s", err, CodeAlgKeyMismatch)
	}
}

func enc(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// Hostile tokens: each fails with its own code and never panics.
func TestParseHostile(t *testing.T) {
	t.Parallel()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good, _ := Sign(ec, map[string]any{"alg": ES256}, []byte(`{}`))
	sig := good[strings.LastIndexByte(good, '.')+1:]
	// HS256 keyed with the issuer's public key: the classic confusion attack.
	pubJWK, _ := PublicJWK(&ec.PublicKey)
	pubBytes, _ := json.Marshal(pubJWK)
	hsInput := enc(`{"alg":"HS256"}`) + "." + enc(`{}`)
	mac := hmac.New(sha256.New, pubBytes)
	mac.Write([]byte(hsInput))
	hs256 := hsInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	for _, tc := range []struct {
		name  string
		token string
		want  Code
	}{
		{"alg none", enc(`{"alg":"none"}`) + "." + enc(`{}`) + ".", CodeAlgNone},
		{"alg NONE", enc(`{"alg":"NONE"}`) + "." + enc(`{}`) + ".", CodeAlgNone},
		{"HS256 with the public key", hs256, CodeMACAlg},
		{"RS256", enc(`{"alg":"RS256"}`) + "." + enc(`{}`) + "." + sig, CodeUnsupportedAlg},
		{"ES384", enc(`{"alg":"ES384"}`) + "." + enc(`{}`) + "." + sig, CodeUnsupportedAlg},
		{"no alg", enc(`{"typ":"JWT"}`) + "." + enc(`{}`) + "." + sig, CodeMalformed},
		{"unknown crit", enc(`{"alg":"ES256","crit":["exp"],"exp":1}`) + "." + enc(`{}`) + "." + sig, CodeUnknownCrit},
		{"empty crit", enc(`{"alg":"ES256","crit":[]}`) + "." + enc(`{}`) + "." + sig, CodeMalformed},
		{"duplicate alg", enc(`{"alg":"ES256","alg":"none"}`) + "." + enc(`{}`) + "." + sig, CodeMalformed},
		{"header not an object", enc(`["ES256"]`) + "." + enc(`{}`) + "." + sig, CodeMalformed},
		{"two parts", enc(`{"alg":"ES256"}`) + "." + enc(`{}`), CodeMalformed},
		{"four parts", good + ".x", CodeMalformed},
		{"padding", good + "=", CodeMalformed},
		{"standard alphabet", strings.Replace(good, "-", "+", 1) + "+/", CodeMalformed},
		{"too large", strings.Repeat("a", 2000), CodeTooLarge},
		{"deep header", enc(`{"alg":"ES256","x":`+strings.Repeat("[", 40)+strings.Repeat("]", 40)+`}`) + "." + enc(`{}`) + "." + sig, CodeMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j, err := Parse(tc.token, 1024)
			if err == nil {
				err = j.Verify(&ec.PublicKey)
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.want {
				t.Errorf("Parse(%s) = %v, want code %s", tc.name, err, tc.want)
			}
		})
	}
}

func TestVerifyKeyMismatch(t *testing.T) {
	t.Parallel()
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	tok, _ := Sign(ed, map[string]any{"alg": EdDSA}, []byte("x"))
	j, _ := Parse(tok, 1024)
	if err := j.Verify(&ec.PublicKey); CodeOf(err) != CodeAlgKeyMismatch {
		t.Errorf("EdDSA token, P-256 key: %v, want %s", err, CodeAlgKeyMismatch)
	}
	tok, _ = Sign(ec, map[string]any{"alg": ES256}, []byte("x"))
	j, _ = Parse(tok, 1024)
	for _, k := range []crypto.PublicKey{ed.Public(), &p384.PublicKey, []byte("secret")} {
		if err := j.Verify(k); CodeOf(err) != CodeAlgKeyMismatch {
			t.Errorf("ES256 token, %T key: %v, want %s", k, err, CodeAlgKeyMismatch)
		}
	}
}

func TestCritUnderstood(t *testing.T) {
	t.Parallel()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tok, _ := Sign(ec, map[string]any{"alg": ES256, "crit": []string{"b64x"}, "b64x": true}, []byte("x"))
	if _, err := Parse(tok, 1024); CodeOf(err) != CodeUnknownCrit {
		t.Errorf("Parse(crit b64x) = %v, want %s", err, CodeUnknownCrit)
	}
	if _, err := ParseWith(tok, 1024, ParseOptions{Crit: []string{"b64x"}}); err != nil {
		t.Errorf("ParseWith(crit understood) = %v", err)
	}
}

func TestJWKRoundTripAndRejects(t *testing.T) {
	t.Parallel()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for _, k := range []crypto.Signer{ec, ed} {
		j, err := PrivateJWK(k)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(j)
		back, err := ParsePrivateJWK(raw)
		if err != nil {
			t.Fatalf("ParsePrivateJWK(%s) = %v", raw, err)
		}
		if !back.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(k.Public()) {
			t.Errorf("private JWK round trip changed the key")
		}
		pj, _ := PublicJWK(k.Public())
		raw, _ = json.Marshal(pj)
		if strings.Contains(string(raw), `"d"`) {
			t.Errorf("public JWK %s holds d", raw)
		}
	}
	pj, _ := PublicJWK(&ec.PublicKey)
	offCurve := pj
	offCurve.Y = offCurve.X
	for _, tc := range []struct {
		name string
		jwk  string
	}{
		{"off-curve point", mustJSON(offCurve)},
		{"RSA", `{"kty":"RSA","n":"AQAB","e":"AQAB"}`},
		{"symmetric", `{"kty":"oct","k":"c2VjcmV0"}`},
		{"short x", `{"kty":"OKP","crv":"Ed25519","x":"AQAB"}`},
		{"X25519", `{"kty":"OKP","crv":"X25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`},
		{"duplicate x", `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","x":"AA"}`},
		{"not JSON", `kty=EC`},
	} {
		if _, err := ParsePublicJWK([]byte(tc.jwk)); CodeOf(err) != CodeInvalidKey {
			t.Errorf("ParsePublicJWK(%s) = %v, want %s", tc.name, err, CodeInvalidKey)
		}
	}
	// Mismatched private and public halves.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	mixed, _ := PrivateJWK(ec)
	op, _ := PublicJWK(&other.PublicKey)
	mixed.X, mixed.Y = op.X, op.Y
	if _, err := ParsePrivateJWK([]byte(mustJSON(mixed))); CodeOf(err) != CodeInvalidKey {
		t.Errorf("ParsePrivateJWK(mismatched halves) = %v, want %s", err, CodeInvalidKey)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func FuzzParse(f *testing.F) {
	v := rfc8037{}
	raw, _ := os.ReadFile("testdata/rfc8037_ed25519_jws.json")
	json.Unmarshal(raw, &v)
	f.Add(v.CompactJWS)
	f.Add(enc(`{"alg":"none"}`) + "." + enc(`{}`) + ".")
	f.Add(enc(`{"alg":"ES256","crit":["x"]}`) + "..")
	pub, _ := ParsePublicJWK(v.PublicJWK)
	f.Fuzz(func(t *testing.T, s string) {
		j, err := Parse(s, 1<<16)
		if err != nil {
			if CodeOf(err) == "" {
				t.Fatalf("Parse error without a code: %v", err)
			}
			return
		}
		if j.Verify(pub) == nil && s != v.CompactJWS {
			t.Fatalf("a mutated token verified: %q", s)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tok, _ := Sign(ec, map[string]any{"alg": ES256, "typ": "kb+jwt"}, []byte(`{"nonce":"n","aud":"a","iat":1}`))
	d := sha256.Sum256([]byte("x"))
	r, s, _ := ecdsa.Sign(rand.Reader, ec, d[:])
	b.Run("raw-ES256-verify", func(b *testing.B) {
		for b.Loop() {
			ecdsa.Verify(&ec.PublicKey, d[:], r, s)
		}
	})
	b.Run("Parse+Verify", func(b *testing.B) {
		for b.Loop() {
			j, err := Parse(tok, 1<<20)
			if err != nil || j.Verify(&ec.PublicKey) != nil {
				b.Fatal("verify failed")
			}
		}
	})
}

// derToRS must keep every ASN.1 INTEGER form a signer may return: R or S
// with a leading zero byte (high bit set), shorter than 32 bytes, and
// reject what is not a signature.
func TestDERToRS(t *testing.T) {
	t.Parallel()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := &key.PublicKey
	highBit := false
	for i := 0; i < 400; i++ {
		d := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		der, err := ecdsa.SignASN1(rand.Reader, key, d[:])
		if err != nil {
			t.Fatal(err)
		}
		rs, err := derToRS(der, pub)
		if err != nil {
			t.Fatal(err)
		}
		r, s := new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])
		if !ecdsa.Verify(pub, d[:], r, s) {
			t.Fatalf("derToRS(%x) = %x, which does not verify", der, rs)
		}
		highBit = highBit || rs[0]&0x80 != 0
	}
	if !highBit {
		t.Error("400 signatures and none had R with its high bit set")
	}
	for _, der := range [][]byte{
		nil,
		{0x30, 0x00},
		{0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01},                                            // negative R
		{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00},                                      // trailing byte
		append(append([]byte{0x30, 0x26, 0x02, 0x21, 0x01}, make([]byte, 32)...), 0x02, 0x01, 0x01), // R longer than 32 bytes
	} {
		if _, err := derToRS(der, pub); err == nil {
			t.Errorf("derToRS(%x) accepted", der)
		}
	}
}

// rsToDER is derToRS's inverse for every signature, including R or S
// with leading zeros or the high bit set.
func TestRSToDER(t *testing.T) {
	t.Parallel()
	pub := &ecdsa.PublicKey{Curve: elliptic.P256()}
	cases := [][]byte{make([]byte, 64)}
	hi := make([]byte, 64)
	hi[0], hi[32] = 0x80, 0xff
	lo := make([]byte, 64)
	lo[31], lo[63] = 1, 0x7f
	cases = append(cases, hi, lo)
	for range 200 {
		rs := make([]byte, 64)
		_, _ = rand.Read(rs)
		cases = append(cases, rs)
	}
	for _, rs := range cases {
		der := rsToDER(nil, rs)
		if len(der) > 72 {
			t.Fatalf("rsToDER(%x) is %d bytes", rs, len(der))
		}
		back, err := derToRS(der, pub)
		if err != nil || !bytes.Equal(back, rs) {
			t.Errorf("derToRS(rsToDER(%x)) = %x, %v", rs, back, err)
		}
	}
}

func TestSHA256String(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 2047, 2048, 2049, 4096, 10000} {
		s := strings.Repeat("a", n)
		if SHA256String(s) != sha256.Sum256([]byte(s)) {
			t.Errorf("SHA256String of %d bytes differs from sha256.Sum256", n)
		}
	}
}

func TestSHA256Prefix(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("0123456789abcdef", 300) // past the 2 KiB chunk
	for _, tc := range []struct{ prefix, rest string }{
		{"", ""}, {"eyJ.eyJ", ""}, {"eyJ.eyJ", ".sig~WyJ~"}, {long, "~" + long}, {"a", long},
	} {
		p, w := SHA256Prefix(tc.prefix, tc.rest)
		if p != sha256.Sum256([]byte(tc.prefix)) || w != sha256.Sum256([]byte(tc.prefix+tc.rest)) {
			t.Errorf("SHA256Prefix(%d bytes, %d bytes) differs from sha256.Sum256", len(tc.prefix), len(tc.rest))
		}
	}
}
