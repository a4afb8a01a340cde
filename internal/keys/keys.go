// Package keys holds Tong's server-side signing keys: the registry log key,
// the trust authority's and agencies' DID keys, verifiers' request-signing
// keys.
//
// A key is used only as a [crypto.Signer] wrapped in a [Signer], which
// also names its JOSE algorithm and key ID and redacts itself when printed
// or logged. Private keys at rest live in a [Dir]: one file per key, each
// sealed with XChaCha20-Poly1305 under a 256-bit master key, with the key's
// name as associated data, so a file renamed onto another key's name does
// not open. The master key comes from a file the operator keeps apart from
// the data (a secret mount, a KMS-decrypted file); [LoadOrCreateMasterKey]
// makes one for the demo. PKCS#11 and cloud KMS backends can implement
// crypto.Signer later without changing the callers.
//
// # Algorithms
//
// ES256 (ECDSA P-256 with SHA-256), the default, and Ed25519 (JOSE "EdDSA",
// RFC 8037; "Ed25519" in RFC 9864). Nothing else is generated or loaded.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// Algorithms, as JOSE names them.
const (
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

// MasterKeySize is the size of the key that seals key files.
const MasterKeySize = chacha20poly1305.KeySize

// sealLabel separates Tong key files from anything else sealed with the
// same master key.
const sealLabel = "tong/keys/v1\n"

var (
	// ErrNotFound is returned by Dir.Load for a key that does not exist.
	ErrNotFound = errors.New("keys: no such key")
	// ErrExists is returned by Dir.Create for a name already in use.
	ErrExists = errors.New("keys: key already exists")
	// ErrUnsealed is returned when a key file does not open under the
	// master key: a wrong master key, or a damaged or swapped file.
	ErrUnsealed = errors.New("keys: key file does not open with this master key (wrong master key, or the file is damaged)")
	// ErrUnsupported is returned for an algorithm or key type Tong does
	// not use.
	ErrUnsupported = errors.New("keys: unsupported algorithm")
)

// Signer is a private key with the names JOSE and DID documents need.
// It never prints its private half.
type Signer struct {
	key crypto.Signer
	alg string
	kid string
}

var (
	_ crypto.Signer  = (*Signer)(nil)
	_ slog.LogValuer = (*Signer)(nil)
	_ fmt.Formatter  = (*Signer)(nil)
)

// New wraps a P-256 ECDSA or Ed25519 private key. The key ID is the RFC
// 7638 JWK thumbprint of the public key.
func New(key crypto.Signer) (*Signer, error) {
	var alg string
	switch k := key.Public().(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: ECDSA curve %s", ErrUnsupported, k.Curve.Params().Name)
		}
		alg = ES256
	case ed25519.PublicKey:
		alg = EdDSA
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupported, k)
	}
	kid, err := Thumbprint(key.Public())
	if err != nil {
		return nil, err
	}
	return &Signer{key: key, alg: alg, kid: kid}, nil
}

// Generate makes a new key for alg (ES256 or EdDSA; "Ed25519" is accepted
// as an alias of EdDSA) from rand (nil means crypto/rand).
func Generate(rnd io.Reader, alg string) (*Signer, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	switch alg {
	case ES256, "":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
		if err != nil {
			return nil, err
		}
		return New(k)
	case EdDSA, "Ed25519":
		_, k, err := ed25519.GenerateKey(rnd)
		if err != nil {
			return nil, err
		}
		return New(k)
	}
	return nil, fmt.Errorf("%w: %q (want ES256 or Ed25519)", ErrUnsupported, alg)
}

// Public returns the public key.
func (s *Signer) Public() crypto.PublicKey { return s.key.Public() }

// Sign signs digest as the underlying crypto.Signer does (ASN.1 DER for
// ECDSA, the raw 64 bytes for Ed25519 with opts crypto.Hash(0)).
func (s *Signer) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.key.Sign(rand, digest, opts)
}

// Alg is the JOSE algorithm: ES256 or EdDSA.
func (s *Signer) Alg() string { return s.alg }

// KeyID is the RFC 7638 thumbprint of the public key.
func (s *Signer) KeyID() string { return s.kid }

// Unwrap returns the underlying private key, for code that must hand it
// to a library that needs the concrete type. Treat the result as secret.
func (s *Signer) Unwrap() crypto.Signer { return s.key }

// String names the key without its secret.
func (s *Signer) String() string { return "keys.Signer(" + s.alg + ", " + s.kid + ")" }

// Format makes every fmt verb print String, so %#v and %+v do not reach
// the private key.
func (s *Signer) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// LogValue keeps the private key out of logs.
func (s *Signer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("alg", s.alg), slog.String("kid", s.kid))
}

// Thumbprint is the RFC 7638 JWK thumbprint (SHA-256, base64url) of a
// P-256 or Ed25519 public key.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	var canon string
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("%w: ECDSA curve %s", ErrUnsupported, k.Curve.Params().Name)
		}
		raw, err := k.Bytes() // 0x04 || X || Y
		if err != nil {
			return "", err
		}
		// Spec: RFC 7638 §3.2: the required members in lexicographic
		// order, no whitespace: crv, kty, x, y for EC keys.
		canon = `{"crv":"P-256","kty":"EC","x":"` + b64(raw[1:33]) + `","y":"` + b64(raw[33:]) + `"}`
	case ed25519.PublicKey:
		// Spec: RFC 8037 §2: OKP keys have crv, kty, x.
		canon = `{"crv":"Ed25519","kty":"OKP","x":"` + b64(k) + `"}`
	default:
		return "", fmt.Errorf("%w: %T", ErrUnsupported, pub)
	}
	sum := sha256.Sum256([]byte(canon))
	return b64(sum[:]), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Dir is a directory of sealed key files, DIR/<name>.key.
type Dir struct {
	path   string
	master []byte
}

// validName keeps key names safe as file names.
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)

// OpenDir opens (creating if needed, mode 0700) a key directory sealed
// under master, which must be MasterKeySize bytes.
func OpenDir(path string, master []byte) (*Dir, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("keys: master key must be %d bytes, not %d", MasterKeySize, len(master))
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return &Dir{path: path, master: append([]byte(nil), master...)}, nil
}

// String does not print the master key.
func (d *Dir) String() string { return "keys.Dir(" + d.path + ")" }

// sealedFile is the on-disk form of one key.
type sealedFile struct {
	Version int    `json:"v"`
	Alg     string `json:"alg"`
	KeyID   string `json:"kid"`
	Nonce   string `json:"nonce"`
	Sealed  string `json:"sealed"` // XChaCha20-Poly1305(PKCS#8 DER)
}

func (d *Dir) file(name string) (string, error) {
	if !validName.MatchString(name) {
		return "", fmt.Errorf("keys: invalid key name %q (want lower-case letters, digits, . _ -)", name)
	}
	return filepath.Join(d.path, name+".key"), nil
}

// Create generates a key for alg, stores it sealed under name, and returns
// it. It refuses to overwrite an existing key (ErrExists).
func (d *Dir) Create(name, alg string) (*Signer, error) {
	s, err := Generate(nil, alg)
	if err != nil {
		return nil, err
	}
	return s, d.Store(name, s)
}

// Store seals s under name. It refuses to overwrite (ErrExists).
func (d *Dir) Store(name string, s *Signer) error {
	path, err := d.file(name)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(s.key)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	aead, err := chacha20poly1305.NewX(d.master)
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := aead.Seal(nil, nonce, der, []byte(sealLabel+name))
	clear(der)
	buf, err := json.Marshal(sealedFile{Version: 1, Alg: s.alg, KeyID: s.kid, Nonce: b64(nonce), Sealed: b64(sealed)})
	if err != nil {
		return err
	}
	return writeNew(path, append(buf, '\n'))
}

// Load opens the key stored under name.
func (d *Dir) Load(name string) (*Signer, error) {
	path, err := d.file(name)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	var f sealedFile
	if err := json.Unmarshal(raw, &f); err != nil || f.Version != 1 {
		return nil, fmt.Errorf("%w: %s is not a Tong key file", ErrUnsealed, path)
	}
	nonce, err1 := base64.RawURLEncoding.DecodeString(f.Nonce)
	sealed, err2 := base64.RawURLEncoding.DecodeString(f.Sealed)
	aead, _ := chacha20poly1305.NewX(d.master)
	if err1 != nil || err2 != nil || len(nonce) != aead.NonceSize() {
		return nil, fmt.Errorf("%w: %s", ErrUnsealed, path)
	}
	der, err := aead.Open(nil, nonce, sealed, []byte(sealLabel+name))
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrUnsealed, path)
	}
	defer clear(der)
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrUnsealed, path)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %T", ErrUnsupported, key)
	}
	s, err := New(signer)
	if err != nil {
		return nil, err
	}
	if s.kid != f.KeyID {
		return nil, fmt.Errorf("%w: %s: key ID does not match", ErrUnsealed, path)
	}
	return s, nil
}

// LoadOrCreate loads name, or creates it with alg when it does not exist.
func (d *Dir) LoadOrCreate(name, alg string) (*Signer, error) {
	s, err := d.Load(name)
	if errors.Is(err, ErrNotFound) {
		s, err = d.Create(name, alg)
		if errors.Is(err, ErrExists) { // lost a race with another process
			return d.Load(name)
		}
	}
	return s, err
}

// LoadOrCreateMasterKey reads a master key file (base64url of 32 bytes), or
// creates one with mode 0600 when it does not exist. Production deployments
// keep this file off the data volume.
func LoadOrCreateMasterKey(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, MasterKeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := writeNew(path, []byte(b64(key)+"\n")); err != nil && !errors.Is(err, ErrExists) {
			return nil, err
		}
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: master key: %w", err)
	}
	key, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(key) != MasterKeySize {
		return nil, fmt.Errorf("keys: master key file %s must hold %d bytes in base64url", path, MasterKeySize)
	}
	return key, nil
}

// writeNew writes a new file durably: temporary file, fsync, hard link to
// the final name (which fails if it exists), fsync of the directory.
func writeNew(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExists, path)
		}
		return fmt.Errorf("keys: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
