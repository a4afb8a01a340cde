package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminCA: the operator creates the city CA and issues a verifying
// organisation's certificate; its counter can then ask with x509_hash and
// direct_post.jwt, and the request URI carries the certificate's hash.
func TestAdminCA(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	base, stop := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data})
	defer stop()
	env := map[string]string{"TONG_DATA": data, "TONG_SERVER": base}
	if code, _, errOut := runTong(t, env, "admin", "ca", "issue", "--verifier", "x"); code == 0 || !strings.Contains(errOut, "tong admin ca init") {
		t.Errorf("issue without a CA: %d %q", code, errOut)
	}
	code, out, errOut := runTong(t, env, "admin", "ca", "init", "--name", "Test City CA", "--json")
	var ca map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &ca) != nil || ca["ca_certificate"] != filepath.Join(data, "ca.pem") {
		t.Fatalf("ca init: %d %q %q", code, out, errOut)
	}
	if pem, _ := os.ReadFile(ca["ca_certificate"]); !strings.Contains(string(pem), "BEGIN CERTIFICATE") {
		t.Fatalf("ca.pem: %q", pem)
	}
	if code, _, _ := runTong(t, env, "admin", "ca", "init"); code == 0 {
		t.Error("a second ca init overwrote the CA")
	}
	if code, out, errOut := runTong(t, env, "admin", "verifier", "add", "--slug", "hall", "--name", "Hall", "--purposes", "identity-basic"); code != 0 {
		t.Fatalf("verifier add: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runTong(t, env, "admin", "ca", "issue", "--verifier", "hall", "--json")
	var cert map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &cert) != nil || !strings.HasPrefix(cert["client_id"], "x509_hash:") {
		t.Fatalf("ca issue: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runTong(t, env, "admin", "counter", "add", "--org", "hall", "--name", "Desk", "--purposes", "identity-basic", "--json")
	var ctr map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &ctr) != nil {
		t.Fatalf("counter add: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runTong(t, map[string]string{"TONG_SERVER": base, "TONG_TOKEN": ctr["token"]}, "verifier", "request", "--purpose", "identity-basic",
		"--client-id-prefix", "x509_hash", "--response-mode", "direct_post.jwt", "--json")
	var req map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &req) != nil {
		t.Fatalf("request: %d %q %q", code, out, errOut)
	}
	if !strings.Contains(req["request_uri"], strings.ReplaceAll(cert["client_id"], ":", "%3A")) {
		t.Errorf("request URI %s does not carry %s", req["request_uri"], cert["client_id"])
	}
	// A wallet that trusts the city CA verifies the counter (and then has
	// nothing to send); one that does not refuses it.
	wenv := map[string]string{"TONG_WALLET": filepath.Join(t.TempDir(), "w.db"), "TONG_WALLET_PASSPHRASE": "pw"}
	runTong(t, wenv, "wallet", "init")
	if code, _, errOut := runTong(t, wenv, "wallet", "present", req["request_uri"], "--yes"); code != 1 || !strings.Contains(errOut, "certificate_untrusted") {
		t.Errorf("present without --trust-ca: %d %q", code, errOut)
	}
	wenv["TONG_TRUST_CA"] = ca["ca_certificate"]
	if code, _, errOut := runTong(t, wenv, "wallet", "present", req["request_uri"], "--yes"); code != 1 || !strings.Contains(errOut, "no_matching_credentials") {
		t.Errorf("present with the city CA trusted: %d %q", code, errOut)
	}

	// An agency's certificate: its credentials then carry x5c.
	typeFile := filepath.Join(t.TempDir(), "card.json")
	_ = os.WriteFile(typeFile, []byte(`{"id":"library-card","vct":"urn:tong:vct:library-card:1","display":[{"name":"Library card","locale":"en"}],
"validity_days":365,"claims":[{"path":["card_number"],"type":"string","mandatory":true}]}`), 0o600)
	code, out, errOut = runTong(t, env, "admin", "agency", "add", "--slug", "library", "--name", "Capital Library", "--types", typeFile, "--json")
	var ag map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &ag) != nil {
		t.Fatalf("agency add: %d %q %q", code, out, errOut)
	}
	if code, out, errOut := runTong(t, env, "admin", "ca", "issue", "--agency", "library", "--json"); code != 0 || !strings.Contains(out, "/issuers/library") {
		t.Fatalf("ca issue --agency: %d %q %q", code, out, errOut)
	}
	if code, _, _ := runTong(t, env, "admin", "ca", "issue", "--agency", "library", "--verifier", "hall"); code == 0 {
		t.Error("ca issue took both --agency and --verifier")
	}
}
