package did

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"fmt"
	"math/big"

	"github.com/tongid/tong/internal/base58"
)

// Multicodec codes of the public key types this package implements
// (multiformats/multicodec table.csv), and their unsigned-varint prefixes.
const (
	codecEd25519Pub = 0xed   // ed25519-pub, varint ed 01, 32-byte key
	codecX25519Pub  = 0xec   // x25519-pub, varint ec 01, 32-byte key
	codecP256Pub    = 0x1200 // p256-pub, varint 80 24, 33-byte compressed point
)

// Multicodec codes that did:key lists but this package does not implement.
// They are named so that errors can say which key type was seen.
var unsupportedCodecs = map[uint64]string{
	0xe7:   "secp256k1-pub",
	0x1201: "p384-pub",
	0x1202: "p521-pub",
	0xeb:   "bls12_381-g2-pub",
	0xea:   "bls12_381-g1-pub",
	0x1205: "rsa-pub",
}

// maxMultibaseLength bounds the base58 decoder, which is quadratic.
const maxMultibaseLength = 256

// EncodeMultikey returns the publicKeyMultibase value of a Multikey ([CID]
// §2.2.2 Multikey): "z" + base58btc(multicodec varint ‖ raw key). pub must be
// an ed25519.PublicKey, a P-256 *ecdsa.PublicKey (encoded as a compressed
// point), or an X25519 *ecdh.PublicKey.
func EncodeMultikey(pub crypto.PublicKey) (string, error) {
	var codec uint64
	var raw []byte
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", ErrInvalidPublicKey
		}
		codec, raw = codecEd25519Pub, k
	case *ecdsa.PublicKey:
		if k == nil || k.Curve != elliptic.P256() {
			return "", ErrUnsupportedKeyType
		}
		b, err := k.Bytes()
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
		}
		codec, raw = codecP256Pub, compressP256(b)
	case *ecdh.PublicKey:
		if k == nil || k.Curve() != ecdh.X25519() {
			return "", ErrUnsupportedKeyType
		}
		codec, raw = codecX25519Pub, k.Bytes()
	default:
		return "", ErrUnsupportedKeyType
	}
	buf := appendUvarint(make([]byte, 0, 3+len(raw)), codec)
	buf = append(buf, raw...)
	return "z" + base58Encode(buf), nil
}

// DecodeMultikey parses a publicKeyMultibase value made by [EncodeMultikey].
// The encoding must be canonical: base58btc ("z"), a minimal varint, the exact
// key length, and a valid point (did:key §Signature Method Creation
// Algorithm: "invalidPublicKeyLength", "invalidPublicKey"). Errors wrap
// [ErrUnsupportedKeyType] or [ErrInvalidPublicKey].
func DecodeMultikey(s string) (crypto.PublicKey, error) {
	codec, raw, err := decodeMultikeyRaw(s)
	if err != nil {
		return nil, err
	}
	return publicKeyFromCodec(codec, raw)
}

// decodeMultikeyRaw splits a multibase value into multicodec and key bytes.
func decodeMultikeyRaw(s string) (uint64, []byte, error) {
	if len(s) < 2 || s[0] != 'z' {
		return 0, nil, fmt.Errorf("%w: multibase value must be base58btc (\"z\")", ErrInvalidPublicKey)
	}
	if len(s) > maxMultibaseLength {
		return 0, nil, fmt.Errorf("%w: multibase value too long", ErrInvalidPublicKey)
	}
	b, err := base58Decode(s[1:])
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
	}
	codec, n, err := uvarint(b)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
	}
	return codec, b[n:], nil
}

func publicKeyFromCodec(codec uint64, raw []byte) (crypto.PublicKey, error) {
	switch codec {
	case codecEd25519Pub:
		if len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: ed25519-pub key is %d bytes, want 32", ErrInvalidPublicKey, len(raw))
		}
		if !ed25519PointValid(raw) {
			return nil, fmt.Errorf("%w: not an Ed25519 curve point", ErrInvalidPublicKey)
		}
		return ed25519.PublicKey(append([]byte(nil), raw...)), nil
	case codecP256Pub:
		if len(raw) != 33 {
			return nil, fmt.Errorf("%w: p256-pub key is %d bytes, want 33", ErrInvalidPublicKey, len(raw))
		}
		return decompressP256(raw)
	case codecX25519Pub:
		if len(raw) != 32 {
			return nil, fmt.Errorf("%w: x25519-pub key is %d bytes, want 32", ErrInvalidPublicKey, len(raw))
		}
		k, err := ecdh.X25519().NewPublicKey(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
		}
		return k, nil
	}
	if name, ok := unsupportedCodecs[codec]; ok {
		return nil, fmt.Errorf("%w: %s", ErrUnsupportedKeyType, name)
	}
	return nil, fmt.Errorf("%w: multicodec 0x%x", ErrUnsupportedKeyType, codec)
}

// compressP256 turns an uncompressed SEC 1 point (04 ‖ X ‖ Y) into the
// compressed form (02|03 ‖ X) that p256-pub requires.
func compressP256(uncompressed []byte) []byte {
	out := make([]byte, 33)
	out[0] = 2 | uncompressed[64]&1
	copy(out[1:], uncompressed[1:33])
	return out
}

func decompressP256(raw []byte) (*ecdsa.PublicKey, error) {
	if raw[0] != 2 && raw[0] != 3 {
		return nil, fmt.Errorf("%w: not a compressed P-256 point", ErrInvalidPublicKey)
	}
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), raw)
	if x == nil {
		return nil, fmt.Errorf("%w: not a P-256 curve point", ErrInvalidPublicKey)
	}
	u := make([]byte, 65)
	u[0] = 4
	x.FillBytes(u[1:33])
	y.FillBytes(u[33:])
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), u)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
	}
	return k, nil
}

// Curve25519 constants for the Ed25519 point check and the Ed25519→X25519
// map: p = 2^255 - 19, d = -121665/121666 mod p.
var (
	fieldP = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	edD    = func() *big.Int {
		n := big.NewInt(-121665)
		inv := new(big.Int).ModInverse(big.NewInt(121666), fieldP)
		n.Mul(n, inv)
		return n.Mod(n, fieldP)
	}()
)

// ed25519PointValid reports whether b is the canonical encoding of a point
// on the Ed25519 curve (RFC 8032 §5.1.3 decoding): y < p, and
// x² = (y² - 1) / (d·y² + 1) has a root, which must not be 0 when the sign
// bit is set. crypto/ed25519 does not check this until Verify.
func ed25519PointValid(b []byte) bool {
	y, sign := ed25519Y(b)
	if y.Cmp(fieldP) >= 0 {
		return false
	}
	y2 := new(big.Int).Mul(y, y)
	y2.Mod(y2, fieldP)
	u := new(big.Int).Sub(y2, big.NewInt(1))
	u.Mod(u, fieldP)
	v := new(big.Int).Mul(edD, y2)
	v.Add(v, big.NewInt(1))
	v.Mod(v, fieldP)
	if v.Sign() == 0 {
		return false
	}
	// u/v is a square iff u·v is (v and 1/v have the same quadratic
	// character), and the Jacobi symbol is far cheaper than a square root.
	t := u.Mul(u, v)
	t.Mod(t, fieldP)
	if t.Sign() == 0 {
		return sign == 0 // x = 0 has no negative
	}
	return big.Jacobi(t, fieldP) == 1
}

// ed25519Y decodes the little-endian y coordinate and the sign bit of x.
func ed25519Y(b []byte) (*big.Int, uint) {
	be := make([]byte, 32)
	for i := range 32 {
		be[i] = b[31-i]
	}
	sign := uint(be[0] >> 7)
	be[0] &= 0x7f
	return new(big.Int).SetBytes(be), sign
}

// ed25519ToX25519 maps an Ed25519 public key to the X25519 key of the same
// secret, u = (1 + y) / (1 - y) mod p (RFC 7748 §4.1), as did:key §Derive
// Encryption Key Algorithm asks.
func ed25519ToX25519(pub ed25519.PublicKey) (*ecdh.PublicKey, error) {
	y, _ := ed25519Y(pub)
	num := new(big.Int).Add(big.NewInt(1), y)
	den := new(big.Int).Sub(big.NewInt(1), y)
	den.Mod(den, fieldP)
	inv := new(big.Int).ModInverse(den, fieldP)
	if inv == nil {
		return nil, ErrInvalidPublicKey
	}
	u := num.Mul(num, inv)
	u.Mod(u, fieldP)
	be := u.FillBytes(make([]byte, 32))
	le := make([]byte, 32)
	for i := range 32 {
		le[i] = be[31-i]
	}
	return ecdh.X25519().NewPublicKey(le)
}

// appendUvarint appends the multiformats unsigned-varint encoding of v.
func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// uvarint decodes a multiformats unsigned varint, which must be minimal
// ("no trailing zero bytes") and at most 9 bytes.
func uvarint(b []byte) (uint64, int, error) {
	var v uint64
	for i := 0; i < len(b) && i < 9; i++ {
		c := b[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			if c == 0 && i > 0 {
				return 0, 0, errors.New("non-minimal varint")
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, errors.New("truncated or overlong varint")
}

func base58Encode(b []byte) string          { return base58.Encode(b) }
func base58Decode(s string) ([]byte, error) { return base58.Decode(s) }
