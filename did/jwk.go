package did

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// JWK conversion lives in these two functions only. The shared JWK code of
// internal/keys was not yet in the tree when this package was written; they
// are meant to delegate to it for EC P-256 and OKP Ed25519 once it is.

// jwkPublicKey parses a public JWK (RFC 7517; EC P-256 per RFC 7518 §6.2,
// OKP Ed25519 and X25519 per RFC 8037 §2) into a crypto.PublicKey.
func jwkPublicKey(raw []byte) (crypto.PublicKey, error) {
	if err := checkJSON(raw); err != nil {
		return nil, fmt.Errorf("%w: malformed JWK: %v", ErrInvalidPublicKey, err)
	}
	if err := checkPublicJWK(raw); err != nil {
		if err == ErrPrivateKey {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
	}
	var j struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Y   string `json:"y"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("%w: malformed JWK: %v", ErrInvalidPublicKey, err)
	}
	b64 := base64.RawURLEncoding.Strict()
	switch {
	case j.Kty == "EC" && j.Crv == "P-256":
		x, errX := b64.DecodeString(j.X)
		y, errY := b64.DecodeString(j.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return nil, fmt.Errorf("%w: P-256 x and y must be 32-byte base64url", ErrInvalidPublicKey)
		}
		u := append(append([]byte{4}, x...), y...)
		k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), u)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
		}
		return k, nil
	case j.Kty == "OKP" && (j.Crv == "Ed25519" || j.Crv == "X25519"):
		x, err := b64.DecodeString(j.X)
		if err != nil || len(x) != 32 || j.Y != "" {
			return nil, fmt.Errorf("%w: %s x must be 32-byte base64url", ErrInvalidPublicKey, j.Crv)
		}
		if j.Crv == "X25519" {
			k, err := ecdh.X25519().NewPublicKey(x)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
			}
			return k, nil
		}
		if !ed25519PointValid(x) {
			return nil, fmt.Errorf("%w: not an Ed25519 curve point", ErrInvalidPublicKey)
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, fmt.Errorf("%w: kty %s crv %s", ErrUnsupportedKeyType, strconvQuote(j.Kty), strconvQuote(j.Crv))
}

// publicJWK returns the public JWK of pub with only its required members,
// in lexicographic order (the RFC 7638 §3.2 form), e.g.
// {"crv":"P-256","kty":"EC","x":"…","y":"…"}.
func publicJWK(pub crypto.PublicKey) ([]byte, error) {
	b64 := base64.RawURLEncoding
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, ErrInvalidPublicKey
		}
		return fmt.Appendf(nil, `{"crv":"Ed25519","kty":"OKP","x":"%s"}`, b64.EncodeToString(k)), nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve != elliptic.P256() {
			return nil, ErrUnsupportedKeyType
		}
		u, err := k.Bytes()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
		}
		return fmt.Appendf(nil, `{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`,
			b64.EncodeToString(u[1:33]), b64.EncodeToString(u[33:])), nil
	case *ecdh.PublicKey:
		if k == nil || k.Curve() != ecdh.X25519() {
			return nil, ErrUnsupportedKeyType
		}
		return fmt.Appendf(nil, `{"crv":"X25519","kty":"OKP","x":"%s"}`, b64.EncodeToString(k.Bytes())), nil
	}
	return nil, ErrUnsupportedKeyType
}
