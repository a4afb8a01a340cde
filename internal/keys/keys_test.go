package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// RFC 7638 §3.1 gives an RSA example only; RFC 8037 A.3 gives the
// thumbprint of the Ed25519 key of A.1.
func TestThumbprintRFC8037(t *testing.T) {
	t.Parallel()
	x, _ := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	got, err := Thumbprint(ed25519.PublicKey(x))
	if err != nil {
		t.Fatal(err)
	}
	if want := "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"; got != want {
		t.Errorf("Thumbprint(RFC 8037 A.1 key) = %s, want %s", got, want)
	}
}

// The EC thumbprint must equal the hash of the canonical JWK built by a
// general JSON encoder with sorted keys.
func TestThumbprintEC(t *testing.T) {
	t.Parallel()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	raw, _ := k.PublicKey.Bytes()
	canon, _ := json.Marshal(map[string]string{"kty": "EC", "crv": "P-256",
		"x": base64.RawURLEncoding.EncodeToString(raw[1:33]), "y": base64.RawURLEncoding.EncodeToString(raw[33:])})
	sum := sha256.Sum256(canon)
	got, _ := Thumbprint(&k.PublicKey)
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); got != want {
		t.Errorf("Thumbprint(P-256) = %s, want %s", got, want)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := Thumbprint(&p384.PublicKey); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Thumbprint(P-384) error = %v, want ErrUnsupported", err)
	}
}

func TestGenerateSigns(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{ES256, EdDSA, "Ed25519"} {
		s, err := Generate(nil, alg)
		if err != nil {
			t.Fatalf("Generate(%q): %v", alg, err)
		}
		msg := []byte("tong")
		switch pub := s.Public().(type) {
		case *ecdsa.PublicKey:
			d := sha256.Sum256(msg)
			sig, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
			if err != nil || !ecdsa.VerifyASN1(pub, d[:], sig) {
				t.Errorf("%s signature does not verify (%v)", alg, err)
			}
		case ed25519.PublicKey:
			sig, err := s.Sign(rand.Reader, msg, crypto.Hash(0))
			if err != nil || !ed25519.Verify(pub, msg, sig) {
				t.Errorf("%s signature does not verify (%v)", alg, err)
			}
		}
	}
	if _, err := Generate(nil, "HS256"); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Generate(HS256) error = %v, want ErrUnsupported", err)
	}
}

func TestSignerRedacts(t *testing.T) {
	t.Parallel()
	s, _ := Generate(nil, ES256)
	d, _ := s.Unwrap().(*ecdsa.PrivateKey).Bytes()
	secret := base64.RawURLEncoding.EncodeToString(d)
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("key", "signer", s)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), logBuf.String()} {
		if strings.Contains(out, secret) || !strings.Contains(out, s.KeyID()) {
			t.Errorf("printed signer = %q: want the key ID and no private scalar", out)
		}
	}
}

func TestDirRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	master := bytes.Repeat([]byte{7}, MasterKeySize)
	d, err := OpenDir(dir, master)
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []string{ES256, EdDSA} {
		name := "k-" + strings.ToLower(alg)
		s, err := d.Create(name, alg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Create(name, alg); !errors.Is(err, ErrExists) {
			t.Errorf("second Create(%s) error = %v, want ErrExists", name, err)
		}
		d2, _ := OpenDir(dir, master)
		got, err := d2.Load(name)
		if err != nil {
			t.Fatalf("Load(%s): %v", name, err)
		}
		if got.KeyID() != s.KeyID() || got.Alg() != alg {
			t.Errorf("Load(%s) = %v, want %v", name, got, s)
		}
		fi, _ := os.Stat(filepath.Join(dir, name+".key"))
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v, want 0600", name, fi.Mode().Perm())
		}
		raw, _ := os.ReadFile(filepath.Join(dir, name+".key"))
		if ec, ok := s.Unwrap().(*ecdsa.PrivateKey); ok && bytes.Contains(raw, []byte(base64.RawURLEncoding.EncodeToString(mustBytes(ec)))) {
			t.Errorf("key file holds the private scalar in the clear")
		}
	}
}

func TestDirRejects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	master := bytes.Repeat([]byte{1}, MasterKeySize)
	d, _ := OpenDir(dir, master)
	if _, err := d.Create("a", ES256); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Create("b", ES256); err != nil {
		t.Fatal(err)
	}
	wrong, _ := OpenDir(dir, bytes.Repeat([]byte{2}, MasterKeySize))
	if _, err := wrong.Load("a"); !errors.Is(err, ErrUnsealed) {
		t.Errorf("Load with the wrong master key: %v, want ErrUnsealed", err)
	}
	if _, err := d.Load("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Load(missing) = %v, want ErrNotFound", err)
	}
	for _, name := range []string{"../x", "A", "", "a/b", ".hidden"} {
		if _, err := d.Load(name); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Load(%q) = %v, want an invalid-name error", name, err)
		}
	}
	// A file copied onto another key's name does not open: the name is
	// bound as associated data.
	raw, _ := os.ReadFile(filepath.Join(dir, "a.key"))
	os.WriteFile(filepath.Join(dir, "c.key"), raw, 0o600)
	if _, err := d.Load("c"); !errors.Is(err, ErrUnsealed) {
		t.Errorf("Load of a renamed key file = %v, want ErrUnsealed", err)
	}
	// One flipped byte in the sealed key.
	var f sealedFile
	json.Unmarshal(raw, &f)
	sealed, _ := base64.RawURLEncoding.DecodeString(f.Sealed)
	sealed[len(sealed)/2] ^= 1
	f.Sealed = base64.RawURLEncoding.EncodeToString(sealed)
	bad, _ := json.Marshal(f)
	os.WriteFile(filepath.Join(dir, "b.key"), bad, 0o600)
	if _, err := d.Load("b"); !errors.Is(err, ErrUnsealed) {
		t.Errorf("Load of a damaged key file = %v, want ErrUnsealed", err)
	}
	if _, err := OpenDir(dir, []byte("short")); err == nil {
		t.Errorf("OpenDir with a 5-byte master key succeeded")
	}
}

func TestMasterKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	k1, err := LoadOrCreateMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateMasterKey(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("second LoadOrCreateMasterKey = %x, %v; want the same key", k2, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("master key mode = %v, want 0600", fi.Mode().Perm())
	}
	os.WriteFile(path, []byte("not a key"), 0o600)
	if _, err := LoadOrCreateMasterKey(path); err == nil {
		t.Errorf("LoadOrCreateMasterKey(garbage) succeeded")
	}
}

func TestNewRejectsOtherCurves(t *testing.T) {
	t.Parallel()
	k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := New(k); !errors.Is(err, ErrUnsupported) {
		t.Errorf("New(P-384) = %v, want ErrUnsupported", err)
	}
}

func mustBytes(k *ecdsa.PrivateKey) []byte {
	b, err := k.Bytes()
	if err != nil {
		panic(err)
	}
	return b
}
