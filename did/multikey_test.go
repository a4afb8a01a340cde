package did

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"math/big"
	"testing"
)

// ed25519PointValidRef is the textbook RFC 8032 §5.1.3 decoding, with a
// square root, to check the Jacobi-symbol shortcut against.
func ed25519PointValidRef(b []byte) bool {
	y, sign := ed25519Y(b)
	if y.Cmp(fieldP) >= 0 {
		return false
	}
	y2 := new(big.Int).Mul(y, y)
	u := new(big.Int).Sub(y2, big.NewInt(1))
	v := new(big.Int).Add(new(big.Int).Mul(edD, y2), big.NewInt(1))
	x2 := new(big.Int).Mul(u, new(big.Int).ModInverse(v.Mod(v, fieldP), fieldP))
	x2.Mod(x2, fieldP)
	if x2.Sign() == 0 {
		return sign == 0
	}
	return new(big.Int).ModSqrt(x2, fieldP) != nil
}

func TestEd25519PointValid(t *testing.T) {
	t.Parallel()
	valid := 0
	for i := range 3000 {
		b := make([]byte, 32)
		rand.Read(b)
		switch i {
		case 0: // y = 1, x = 0: the identity
			b = make([]byte, 32)
			b[0] = 1
		case 1: // the identity with the sign bit set
			b = make([]byte, 32)
			b[0], b[31] = 1, 0x80
		case 2: // y = p, non-canonical
			b = fieldP.FillBytes(make([]byte, 32))
			for j := 0; j < 16; j++ {
				b[j], b[31-j] = b[31-j], b[j]
			}
		}
		got, want := ed25519PointValid(b), ed25519PointValidRef(b)
		if got != want {
			t.Fatalf("ed25519PointValid(%x) = %v, reference says %v", b, got, want)
		}
		if got {
			valid++
		}
	}
	if valid < 1200 || valid > 1800 {
		t.Errorf("%d of 3000 random encodings valid, want about half", valid)
	}
	for range 100 {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		if !ed25519PointValid(pub) {
			t.Fatalf("generated key %x rejected", []byte(pub))
		}
	}
}

func TestBase58(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		hex []byte
		enc string
	}{
		{nil, ""},
		{[]byte{0}, "1"},
		{[]byte{0, 0, 1}, "112"},
		{[]byte("hello world"), "StV1DL6CwTryKyV"},
		{[]byte{0xff, 0xff}, "LUv"},
	} {
		if got := base58Encode(tc.hex); got != tc.enc {
			t.Errorf("base58Encode(%x) = %q, want %q", tc.hex, got, tc.enc)
		}
		if tc.enc == "" {
			continue
		}
		if got, err := base58Decode(tc.enc); err != nil || !bytes.Equal(got, tc.hex) {
			t.Errorf("base58Decode(%q) = %x, %v", tc.enc, got, err)
		}
	}
	for range 500 {
		b := make([]byte, 1+len(t.Name())%40)
		rand.Read(b)
		b[0] &= 0x03 // sometimes a leading zero
		got, err := base58Decode(base58Encode(b))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("round trip %x = %x, %v", b, got, err)
		}
	}
	for _, bad := range []string{"", "0", "O", "I", "l", "abc+", "é"} {
		if _, err := base58Decode(bad); err == nil {
			t.Errorf("base58Decode(%q) succeeded", bad)
		}
	}
}

func TestUvarint(t *testing.T) {
	t.Parallel()
	for _, v := range []uint64{0, 1, 0x7f, 0x80, 0xed, 0x1200, 1<<63 - 1} {
		b := appendUvarint(nil, v)
		got, n, err := uvarint(append(b, 0xaa))
		if err != nil || got != v || n != len(b) {
			t.Errorf("uvarint(%x) = %d, %d, %v", b, got, n, err)
		}
	}
	for _, bad := range [][]byte{{}, {0x80}, {0xed, 0x81, 0x00}, {0x80, 0x00}, bytes.Repeat([]byte{0xff}, 10)} {
		if _, _, err := uvarint(bad); err == nil {
			t.Errorf("uvarint(%x) succeeded", bad)
		}
	}
}

func TestMultikeyRoundTrip(t *testing.T) {
	t.Parallel()
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	x, _ := ecdh.X25519().GenerateKey(rand.Reader)
	for _, pub := range []crypto.PublicKey{edPub, &ec.PublicKey, x.PublicKey()} {
		mb, err := EncodeMultikey(pub)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeMultikey(mb)
		if err != nil || !got.(interface{ Equal(crypto.PublicKey) bool }).Equal(pub) {
			t.Errorf("DecodeMultikey(EncodeMultikey(%T)) = %v, %v", pub, got, err)
		}
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := EncodeMultikey(&p384.PublicKey); !errors.Is(err, ErrUnsupportedKeyType) {
		t.Errorf("EncodeMultikey(P-384) = %v", err)
	}
	if _, err := EncodeMultikey("nope"); !errors.Is(err, ErrUnsupportedKeyType) {
		t.Errorf("EncodeMultikey(string) = %v", err)
	}
	if _, err := EncodeMultikey(ed25519.PublicKey{1, 2}); !errors.Is(err, ErrInvalidPublicKey) {
		t.Errorf("EncodeMultikey(short) = %v", err)
	}
	for _, bad := range []string{"", "z", "u7QE", "f01ed", "z" + "1111"} {
		if _, err := DecodeMultikey(bad); err == nil {
			t.Errorf("DecodeMultikey(%q) succeeded", bad)
		}
	}
}
