package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

// MaxJWKSize bounds the JWKs Parse*JWK accept.
const MaxJWKSize = 8 << 10

// JWK is a P-256 (kty EC) or Ed25519 (kty OKP) JSON Web Key. D is set only
// for private keys; public JWKs never carry it.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y,omitempty"`
	D   string `json:"d,omitempty"`
	Kid string `json:"kid,omitempty"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
}

// PublicJWK returns the public JWK of a P-256 or Ed25519 key, with no kid.
func PublicJWK(pub crypto.PublicKey) (JWK, error) {
	kty, crv, x, y, err := publicCoordinates(pub)
	if err != nil {
		return JWK{}, err
	}
	j := JWK{Kty: kty, Crv: crv, X: b64(x)}
	if y != nil {
		j.Y = b64(y)
	}
	return j, nil
}

// AppendPublicJWK appends the JSON of PublicJWK(pub), byte for byte what
// json.Marshal writes for it, without building the strings.
func AppendPublicJWK(dst []byte, pub crypto.PublicKey) ([]byte, error) {
	kty, crv, x, y, err := publicCoordinates(pub)
	if err != nil {
		return dst, err
	}
	enc := base64.RawURLEncoding
	dst = append(append(append(append(dst, `{"kty":"`...), kty...), `","crv":"`...), crv...)
	dst = enc.AppendEncode(append(dst, `","x":"`...), x)
	if y != nil {
		dst = enc.AppendEncode(append(dst, `","y":"`...), y)
	}
	return append(dst, `"}`...), nil
}

// publicCoordinates returns the JWK kty and crv of a P-256 or Ed25519 key
// and its coordinates as raw bytes (y is nil for Ed25519).
func publicCoordinates(pub crypto.PublicKey) (kty, crv string, x, y []byte, err error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			break
		}
		raw, err := k.Bytes()
		if err != nil {
			return "", "", nil, nil, &Error{Code: CodeInvalidKey, Err: err}
		}
		return "EC", "P-256", raw[1:33], raw[33:65], nil
	case ed25519.PublicKey:
		if len(k) == ed25519.PublicKeySize {
			return "OKP", "Ed25519", k, nil, nil
		}
	}
	return "", "", nil, nil, errf(CodeInvalidKey, "unsupported key type %T", pub)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Thumbprint is the RFC 7638 JWK thumbprint of pub: base64url(SHA-256) of
// the required members in lexicographic order with no whitespace.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := PublicJWK(pub)
	if err != nil {
		return "", err
	}
	var canon string
	if j.Kty == "EC" {
		// Spec: RFC 7638 §3.2: EC members "crv", "kty", "x", "y".
		canon = `{"crv":"` + j.Crv + `","kty":"EC","x":"` + j.X + `","y":"` + j.Y + `"}`
	} else {
		// Spec: RFC 8037 §2: OKP members "crv", "kty", "x".
		canon = `{"crv":"` + j.Crv + `","kty":"OKP","x":"` + j.X + `"}`
	}
	sum := sha256.Sum256([]byte(canon))
	return b64(sum[:]), nil
}

// ParsePublicJWK parses a public JWK. A JWK carrying private members
// ("d", or RSA's "p", "q", ...) is refused: a private key has no business
// in a token header or a DID document.
func ParsePublicJWK(data []byte) (crypto.PublicKey, error) {
	j, err := decodeJWK(data)
	if err != nil {
		return nil, err
	}
	if j.D != "" {
		return nil, errf(CodeInvalidKey, "JWK holds a private key")
	}
	return j.PublicKey()
}

// ParsePrivateJWK parses a private P-256 or Ed25519 JWK and checks that
// its public members match the private key.
func ParsePrivateJWK(data []byte) (crypto.Signer, error) {
	j, err := decodeJWK(data)
	if err != nil {
		return nil, err
	}
	if j.D == "" {
		return nil, errf(CodeInvalidKey, "JWK has no private member d")
	}
	d, err := b64decode(j.D)
	if err != nil {
		return nil, errf(CodeInvalidKey, "d is not base64url")
	}
	pub, err := j.PublicKey()
	if err != nil {
		return nil, err
	}
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if len(d) != 32 {
			return nil, errf(CodeInvalidKey, "P-256 d must be 32 bytes")
		}
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
		if err != nil {
			return nil, &Error{Code: CodeInvalidKey, Description: "invalid P-256 private key", Err: err}
		}
		if !k.PublicKey.Equal(p) {
			return nil, errf(CodeInvalidKey, "private and public members do not match")
		}
		return k, nil
	case ed25519.PublicKey:
		if len(d) != ed25519.SeedSize {
			return nil, errf(CodeInvalidKey, "Ed25519 d must be 32 bytes")
		}
		k := ed25519.NewKeyFromSeed(d)
		if !k.Public().(ed25519.PublicKey).Equal(p) {
			return nil, errf(CodeInvalidKey, "private and public members do not match")
		}
		return k, nil
	}
	return nil, errf(CodeInvalidKey, "unsupported key")
}

// PrivateJWK returns the private JWK of a P-256 or Ed25519 key. Treat the
// result as a secret.
func PrivateJWK(s crypto.Signer) (JWK, error) {
	j, err := PublicJWK(s.Public())
	if err != nil {
		return JWK{}, err
	}
	switch k := s.(type) {
	case *ecdsa.PrivateKey:
		d, err := k.Bytes()
		if err != nil {
			return JWK{}, &Error{Code: CodeInvalidKey, Err: err}
		}
		j.D = b64(d)
	case ed25519.PrivateKey:
		j.D = b64(k.Seed())
	default:
		if u, ok := s.(interface{ Unwrap() crypto.Signer }); ok {
			return PrivateJWK(u.Unwrap())
		}
		return JWK{}, errf(CodeInvalidKey, "cannot export a %T", s)
	}
	return j, nil
}

func decodeJWK(data []byte) (*JWK, error) {
	if len(data) > MaxJWKSize {
		return nil, errf(CodeTooLarge, "JWK over %d bytes", MaxJWKSize)
	}
	if err := CheckJSON(data, 4); err != nil {
		return nil, &Error{Code: CodeInvalidKey, Description: err.Error(), Err: err}
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, errf(CodeInvalidKey, "JWK is not a JSON object")
	}
	for _, m := range []string{"p", "q", "dp", "dq", "qi", "k"} {
		if _, ok := raw[m]; ok {
			return nil, errf(CodeInvalidKey, "JWK member %q is not allowed (RSA or symmetric key)", m)
		}
	}
	var j JWK
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, errf(CodeInvalidKey, "JWK member has the wrong type")
	}
	return &j, nil
}

// PublicKey returns the public key j describes.
func (j *JWK) PublicKey() (crypto.PublicKey, error) {
	if j.Kty == "EC" && j.Crv == "P-256" {
		// The uncompressed point 04 || x || y, decoded in place. A
		// 43-character coordinate is exactly 32 bytes.
		var pt [65]byte
		pt[0] = 4
		if len(j.X) != 43 || len(j.Y) != 43 {
			return nil, errf(CodeInvalidKey, "P-256 x and y must be 32 bytes each")
		}
		if _, err := strictB64.Decode(pt[1:33], []byte(j.X)); err != nil {
			return nil, errf(CodeInvalidKey, "x is not base64url")
		}
		if _, err := strictB64.Decode(pt[33:], []byte(j.Y)); err != nil {
			return nil, errf(CodeInvalidKey, "y is not base64url")
		}
		// ParseUncompressedPublicKey checks that the point is on the curve.
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt[:])
		if err != nil {
			return nil, errf(CodeInvalidKey, "point is not on P-256")
		}
		return pub, nil
	}
	x, err := b64decode(j.X)
	if err != nil {
		return nil, errf(CodeInvalidKey, "x is not base64url")
	}
	if j.Kty == "OKP" && j.Crv == "Ed25519" {
		if len(x) != ed25519.PublicKeySize || j.Y != "" {
			return nil, errf(CodeInvalidKey, "Ed25519 x must be 32 bytes")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, errf(CodeInvalidKey, "unsupported JWK kty %q crv %q (want EC P-256 or OKP Ed25519)", j.Kty, j.Crv)
}

// PublicKeyFromMap reads a public JWK that arrived inside a decoded JSON
// document (a cnf claim, a JWKS entry), with the same checks as
// ParsePublicJWK.
func PublicKeyFromMap(m map[string]any) (crypto.PublicKey, error) {
	var j JWK
	for _, f := range [...]struct {
		name string
		dst  *string
	}{{"kty", &j.Kty}, {"crv", &j.Crv}, {"x", &j.X}, {"y", &j.Y}} {
		if v, ok := m[f.name]; ok {
			s, ok := v.(string)
			if !ok {
				return nil, errf(CodeInvalidKey, "JWK member %q is not a string", f.name)
			}
			*f.dst = s
		}
	}
	for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
		if _, ok := m[private]; ok {
			return nil, errf(CodeInvalidKey, "JWK holds private or symmetric member %q", private)
		}
	}
	return j.PublicKey()
}
