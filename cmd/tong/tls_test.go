package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveTLS runs tong serve with args and returns its output up to "Press
// Ctrl+C" and its base URL.
func serveTLS(t *testing.T, args ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	out := &syncBuffer{}
	done := make(chan int, 1)
	dir := t.TempDir() // before the cleanup below, so it is removed after the server stops
	go func() {
		done <- Main(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir}, args...), strings.NewReader(""), out, io.Discard, func(string) string { return "" })
	}()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		s := out.String()
		if strings.Contains(s, "Press Ctrl+C") {
			line, _, _ := strings.Cut(s, "\n")
			return s, strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(line), "Tong is running. Open "), "/")
		}
		select {
		case code := <-done:
			t.Fatalf("tong serve exited %d: %s", code, s)
		default:
		}
	}
	t.Fatalf("tong serve did not start: %s", out.String())
	return "", ""
}

// pinnedClient trusts exactly the certificate whose SHA-256 is fp, as a
// person comparing the printed fingerprint would.
func pinnedClient(fp string, seen *x509.Certificate) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			sum := sha256.Sum256(raw[0])
			if colonHex(sum[:]) != fp {
				return x509.CertificateInvalidError{Reason: x509.NotAuthorizedToSign}
			}
			c, err := x509.ParseCertificate(raw[0])
			if err == nil && seen != nil {
				*seen = *c
			}
			return err
		}}}}
}

func TestServeTLSSelfSigned(t *testing.T) {
	out, base := serveTLS(t, "--tls-self-signed")
	if !strings.HasPrefix(base, "https://127.0.0.1:") {
		t.Fatalf("base URL %q, want https://127.0.0.1:PORT", base)
	}
	_, rest, ok := strings.Cut(out, "certificate SHA-256 ")
	if !ok {
		t.Fatalf("no fingerprint printed:\n%s", out)
	}
	fp, _, _ := strings.Cut(rest, "\n")
	if !strings.Contains(out, base+"/wallet/") || !strings.Contains(out, "█") {
		t.Errorf("no QR code of %s/wallet/ printed:\n%s", base, out)
	}
	var cert x509.Certificate
	resp, err := pinnedClient(fp, &cert).Get(base + "/wallet/")
	if err != nil {
		t.Fatalf("GET /wallet/ over https with the printed fingerprint %s: %v", fp, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /wallet/ = %d", resp.StatusCode)
	}
	if err := cert.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if err := cert.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	if _, err := pinnedClient("00:11", nil).Get(base + "/healthz"); err == nil {
		t.Error("a client pinning another fingerprint connected")
	}
}

func TestServeTLSCertFiles(t *testing.T) {
	cert, err := selfSignedCert([]string{"127.0.0.1", "tong.test"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key, _ := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600)
	_, base := serveTLS(t, "--tls-cert", certFile, "--tls-key", keyFile)
	sum := sha256.Sum256(cert.Certificate[0])
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("GET %s/healthz trusting the given certificate (%s): %v", base, colonHex(sum[:8]), err)
	}
	resp.Body.Close()
	if resp.TLS == nil || resp.StatusCode != 200 {
		t.Errorf("GET /healthz = %d over TLS %v", resp.StatusCode, resp.TLS != nil)
	}
}

func TestServeTLSUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--tls-cert", "c.pem"},
		{"--tls-key", "k.pem"},
		{"--tls-self-signed", "--tls-cert", "c.pem", "--tls-key", "k.pem"},
	} {
		code, _, stderr := runTong(t, nil, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, args...)...)
		if code != 2 || !strings.Contains(stderr, "--tls") {
			t.Errorf("serve %v = %d %q, want 2 and a word about the TLS flags", args, code, stderr)
		}
	}
	code, _, stderr := runTong(t, nil, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.key")
	if code != 1 || !strings.Contains(stderr, "hint") {
		t.Errorf("serve with missing certificate files = %d %q, want 1 with a hint", code, stderr)
	}
}

// TestWalletAppExport writes the app when the engine is built into this
// tong, and otherwise fails saying how to build it.
func TestWalletAppExport(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "site")
	code, stdout, stderr := runTong(t, nil, "wallet-app", "--out", out, "--registry", "https://registry.tong.test")
	if _, err := os.Stat("../../web/walletapp/static/tong-wallet.wasm"); err != nil {
		if code != 1 || !strings.Contains(stderr, "make wallet-wasm") {
			t.Errorf("wallet-app without the engine = %d %q, want 1 saying how to build it", code, stderr)
		}
		return
	}
	page, err := os.ReadFile(filepath.Join(out, "index.html"))
	if code != 0 || err != nil || !strings.Contains(string(page), "https://registry.tong.test") || !strings.Contains(stdout, "gzip") {
		t.Fatalf("wallet-app = %d %q %q; index.html: %v", code, stdout, stderr, err)
	}
	if m, _ := filepath.Glob(filepath.Join(out, "tong-wallet.*.wasm")); len(m) != 1 {
		t.Errorf("exported engine files: %q", m)
	}
	if code, _, _ := runTong(t, nil, "wallet-app", "--out", out); code != 2 {
		t.Errorf("wallet-app into a full directory = %d, want 2", code)
	}
}
