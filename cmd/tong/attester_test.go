package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tongid/tong/issuer"
)

func writePublicKeyPEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "attester.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestWalletAttesterFlag: tong serve --wallet-attester trusts a wallet
// attester, so the issuer's authorization server metadata offers
// attestation-based client authentication; bad values are usage errors
// that say what is wrong. Before, attesters could be set only from Go.
func TestWalletAttesterFlag(t *testing.T) {
	t.Parallel()
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good := writePublicKeyPEM(t, p256.Public())
	base, _ := serveLogged(t, "--demo", "--wallet-attester", "https://attester.example="+good)
	var asm struct {
		Methods []string `json:"token_endpoint_auth_methods_supported"`
	}
	if err := json.Unmarshal([]byte(getBody(t, base+"/.well-known/oauth-authorization-server/issuers/psb")), &asm); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(asm.Methods, issuer.AuthMethodAttestJWT) {
		t.Fatalf("token_endpoint_auth_methods_supported = %v, want %s with an attester set", asm.Methods, issuer.AuthMethodAttestJWT)
	}

	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	_ = os.WriteFile(garbage, []byte("not a key"), 0o600)
	for _, tc := range []struct{ value, says string }{
		{"https://attester.example", "want ISSUER=PEM-FILE"},
		{"http://attester.example=" + good, "https URL"},
		{"https://attester.example=/nonexistent/key.pem", "no such file"},
		{"https://attester.example=" + garbage, "PUBLIC KEY"},
		{"https://attester.example=" + writePublicKeyPEM(t, p384.Public()), "P-256"},
		{"https://attester.example=" + writePublicKeyPEM(t, rsaKey.Public()), "want an ECDSA P-256 or Ed25519"},
	} {
		code, _, stderr := runTong(t, nil, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--wallet-attester", tc.value)
		if code != 2 || !strings.Contains(stderr, "--wallet-attester") || !strings.Contains(stderr, tc.says) {
			t.Errorf("--wallet-attester %s: exit %d, stderr %q; want 2 saying %q", tc.value, code, stderr, tc.says)
		}
	}
	code, _, stderr := runTong(t, nil, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(),
		"--wallet-attester", "https://a.example="+good, "--wallet-attester", "https://a.example="+good)
	if code != 2 || !strings.Contains(stderr, "twice") {
		t.Errorf("the same attester twice: exit %d, stderr %q", code, stderr)
	}
}
