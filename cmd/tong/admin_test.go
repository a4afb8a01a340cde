package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminOnboarding: outside the demo, an operator onboards an agency, a
// verifying organisation and a counter; a citizen then receives a
// credential from the agency and proves it at the counter, both checked
// against the registry.
func TestAdminOnboarding(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	base, stop := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data})
	defer stop()
	env := map[string]string{"TONG_DATA": data, "TONG_SERVER": base}
	typeFile := filepath.Join(t.TempDir(), "card.json")
	_ = os.WriteFile(typeFile, []byte(`{"id":"library-card","vct":"urn:tong:vct:library-card:1","display":[{"name":"Library card","locale":"en"},{"name":"借书证","locale":"zh"}],
"validity_days":365,"claims":[{"path":["family_name"],"type":"string","mandatory":true},{"path":["given_name"],"type":"string","mandatory":true},{"path":["card_number"],"type":"string","mandatory":true}]}`), 0o600)
	code, out, errOut := runTong(t, env, "admin", "agency", "add", "--slug", "library", "--name", "Capital Library", "--types", typeFile, "--json")
	var ag map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &ag) != nil || !strings.HasPrefix(ag["did"], "did:tong:") || ag["token"] == "" {
		t.Fatalf("agency add: %d %q %q", code, out, errOut)
	}
	purpose := filepath.Join(t.TempDir(), "p")
	_ = os.MkdirAll(purpose, 0o700)
	code, out, errOut = runTong(t, env, "admin", "verifier", "add", "--slug", "reading-room", "--name", "Reading room", "--purposes", "identity-basic")
	if code != 0 || !strings.Contains(out, "did:tong:") {
		t.Fatalf("verifier add: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runTong(t, env, "admin", "counter", "add", "--org", "reading-room", "--name", "Desk 1", "--purposes", "identity-basic", "--json")
	var ctr map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &ctr) != nil || ctr["token"] == "" {
		t.Fatalf("counter add: %d %q %q", code, out, errOut)
	}
	// An unaccredited purpose is refused.
	if code, _, _ := runTong(t, env, "admin", "counter", "add", "--org", "reading-room", "--name", "Desk 2", "--purposes", "no-such-purpose"); code == 0 {
		t.Error("a counter with an unknown purpose was added")
	}

	// The new agency issues; the wallet checks it against the registry.
	claims := filepath.Join(t.TempDir(), "c.json")
	_ = os.WriteFile(claims, []byte(`{"family_name":"王","given_name":"小明","card_number":"L-0042"}`), 0o600)
	code, out, errOut = runTong(t, map[string]string{"TONG_SERVER": base, "TONG_TOKEN": ag["token"]}, "issuer", "offer", "--type", "library-card", "--claims", claims, "--json")
	var offer map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &offer) != nil {
		t.Fatalf("offer: %d %q %q", code, out, errOut)
	}
	wenv := map[string]string{"TONG_WALLET": filepath.Join(t.TempDir(), "w.db"), "TONG_WALLET_PASSPHRASE": "pw", "TONG_REGISTRY": base, "TONG_REQUIRE_REGISTRY": "true"}
	runTong(t, wenv, "wallet", "init")
	if code, out, errOut := runTong(t, wenv, "wallet", "receive", offer["offer_uri"], "--tx-code", offer["tx_code"]); code != 0 || !strings.Contains(out, ag["did"]) {
		t.Fatalf("receive from the new agency: %d %q %q", code, out, errOut)
	}
	// The new counter can ask; its organisation is accredited.
	code, out, errOut = runTong(t, map[string]string{"TONG_SERVER": base, "TONG_TOKEN": ctr["token"]}, "verifier", "request", "--purpose", "identity-basic", "--json")
	var req map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &req) != nil {
		t.Fatalf("request: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runTong(t, wenv, "wallet", "present", req["request_uri"], "--yes"); code != 1 || !strings.Contains(errOut, "no_matching_credentials") {
		// identity-basic asks for a citizen identity, which this wallet
		// does not hold: the wallet verified the counter, then found
		// nothing to send.
		t.Fatalf("present: %d %q", code, errOut)
	}
}
