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

// TestDemoHAIP: `tong serve --demo` seeds the city CA (demo.json's
// ca_certificate) and a high-assurance counter (profile haip); a citizen's
// CLI wallet that trusts the CA answers its x509_hash, direct_post.jwt
// request and the counter sees it accepted. A second start keeps the CA
// and the counter's token.
func TestDemoHAIP(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	base, stop := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data}, "--demo")
	raw, _ := os.ReadFile(filepath.Join(data, "demo.json"))
	var demo demoFile
	if err := json.Unmarshal(raw, &demo); err != nil {
		t.Fatal(err)
	}
	if demo.CACertificate != filepath.Join(data, "ca.pem") {
		t.Fatalf("demo.json ca_certificate = %q", demo.CACertificate)
	}
	var haip *demoCounter
	for i, c := range demo.Counters {
		if c.Profile == "haip" {
			haip = &demo.Counters[i]
		}
	}
	if haip == nil || len(demo.Counters) < 3 || demo.Counters[0].Profile != "" {
		t.Fatalf("demo counters %+v, want the two counters and a haip one", demo.Counters)
	}
	psb := demo.Agencies[0]
	claims := filepath.Join(t.TempDir(), "claims.json")
	b, _ := json.Marshal(psb.Types[0].ExampleClaims)
	_ = os.WriteFile(claims, b, 0o600)
	_, out, _ := runTong(t, map[string]string{"TONG_SERVER": base, "TONG_TOKEN": psb.Token}, "issuer", "offer", "--type", "citizen-identity", "--claims", claims, "--json")
	var offer map[string]string
	_ = json.Unmarshal([]byte(out), &offer)
	wenv := map[string]string{"TONG_WALLET": filepath.Join(t.TempDir(), "me.db"), "TONG_WALLET_PASSPHRASE": "pw", "TONG_REGISTRY": base, "TONG_TRUST_CA": demo.CACertificate}
	runTong(t, wenv, "wallet", "init")
	if code, _, errOut := runTong(t, wenv, "wallet", "receive", offer["offer_uri"], "--tx-code", offer["tx_code"]); code != 0 {
		t.Fatalf("receive: %q", errOut)
	}
	cenv := map[string]string{"TONG_SERVER": base, "TONG_TOKEN": haip.Token}
	code, out, errOut := runTong(t, cenv, "verifier", "request", "--purpose", "identity-basic", "--client-id-prefix", "x509_hash", "--response-mode", "direct_post.jwt", "--json")
	var req map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &req) != nil || !strings.HasPrefix(req["request_uri"], "openid4vp://?client_id=x509_hash") {
		t.Fatalf("request: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runTong(t, wenv, "wallet", "present", req["request_uri"], "--yes"); code != 0 {
		t.Fatalf("present: %d %q", code, errOut)
	}
	if code, out, errOut := runTong(t, cenv, "verifier", "result", req["session_id"], "--wait"); code != 0 || !strings.Contains(out, "ACCEPTED") {
		t.Fatalf("result: %d %q %q", code, out, errOut)
	}
	// The counter's own purpose asks for a credential from an agency the
	// city CA certified (trusted_authorities, aki): the PSB's credentials
	// carry its certificate, and the verifier checks the chain.
	code, out, errOut = runTong(t, cenv, "verifier", "request", "--purpose", demoHAIPPurpose, "--client-id-prefix", "x509_hash", "--response-mode", "direct_post.jwt", "--json")
	if code != 0 || json.Unmarshal([]byte(out), &req) != nil || !strings.HasPrefix(req["request_uri"], "openid4vp://?client_id=x509_hash") {
		t.Fatalf("request %s: %d %q %q", demoHAIPPurpose, code, out, errOut)
	}
	if code, _, errOut := runTong(t, wenv, "wallet", "present", req["request_uri"], "--yes"); code != 0 {
		t.Fatalf("present %s: %d %q", demoHAIPPurpose, code, errOut)
	}
	if code, out, errOut := runTong(t, cenv, "verifier", "result", req["session_id"], "--wait"); code != 0 || !strings.Contains(out, "ACCEPTED") {
		t.Fatalf("result %s: %d %q %q", demoHAIPPurpose, code, out, errOut)
	}
	stop()
	pem1, _ := os.ReadFile(demo.CACertificate)
	_, stop2 := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data}, "--demo")
	defer stop2()
	pem2, _ := os.ReadFile(demo.CACertificate)
	raw, _ = os.ReadFile(filepath.Join(data, "demo.json"))
	var again demoFile
	_ = json.Unmarshal(raw, &again)
	if string(pem1) != string(pem2) || len(again.Counters) != len(demo.Counters) || again.Counters[len(again.Counters)-1].Token != haip.Token {
		t.Errorf("a second start changed the CA or the haip counter: %d counters", len(again.Counters))
	}
}

// TestServeRefusesCorruptCACertificate: a damaged DATA/ca.pem (the city
// CA counters trust) stops tong serve with the file's path and what to do,
// rather than running without the trust list the counters expect.
func TestServeRefusesCorruptCACertificate(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, caCertFile), []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runTong(t, nil, "serve", "--addr", "127.0.0.1:0", "--data", data)
	if code == 0 || !strings.Contains(stderr, caCertFile) || !strings.Contains(stderr, "city CA certificate") {
		t.Fatalf("tong serve with a corrupt %s: exit %d, stderr %q", caCertFile, code, stderr)
	}
}
