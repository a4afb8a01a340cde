package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestWalletCLIDemo: a citizen receives a credential offered through the
// issuer CLI, lists and shows it, presents it to a counter, sees the
// history, and backs the wallet up.
func TestWalletCLIDemo(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	base, stop := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data}, "--demo")
	defer stop()
	raw, _ := os.ReadFile(filepath.Join(data, "demo.json"))
	var demo demoFile
	if err := json.Unmarshal(raw, &demo); err != nil {
		t.Fatal(err)
	}
	psb := demo.Agencies[0]
	claims := filepath.Join(t.TempDir(), "claims.json")
	b, _ := json.Marshal(psb.Types[0].ExampleClaims)
	_ = os.WriteFile(claims, b, 0o600)
	code, out, errOut := runTong(t, map[string]string{"TONG_SERVER": base, "TONG_TOKEN": psb.Token}, "issuer", "offer", "--type", "citizen-identity", "--claims", claims, "--json")
	var o struct{ OfferURI, TxCode string }
	var offer map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &offer) != nil {
		t.Fatalf("offer: %d %q %q", code, out, errOut)
	}
	o.OfferURI, o.TxCode = offer["offer_uri"], offer["tx_code"]

	wpath := filepath.Join(t.TempDir(), "me.db")
	env := map[string]string{"TONG_WALLET": wpath, "TONG_WALLET_PASSPHRASE": "correct horse"}
	if code, _, errOut := runTong(t, env, "wallet", "init"); code != 0 {
		t.Fatalf("init: %d %q", code, errOut)
	}
	if code, _, errOut := runTong(t, env, "wallet", "init"); code != 1 || !strings.Contains(errOut, "already exists") {
		t.Errorf("second init: %d %q", code, errOut)
	}
	code, out, errOut = runTong(t, env, "wallet", "receive", o.OfferURI, "--tx-code", o.TxCode, "--registry", base, "--require-registry")
	if code != 0 || !strings.Contains(out, "Citizen identity") || !strings.Contains(out, "registry: did:tong:") {
		t.Fatalf("receive: %d %q %q", code, out, errOut)
	}
	code, out, _ = runTong(t, env, "wallet", "list", "--json")
	var list []struct {
		ID         string `json:"id"`
		CopiesLeft int    `json:"copies_left"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].CopiesLeft < 2 {
		t.Fatalf("list: %d %q", code, out)
	}
	if code, out, _ := runTong(t, env, "wallet", "show", list[0].ID); code != 0 || !strings.Contains(out, "王") {
		t.Errorf("show: %d %q", code, out)
	}
	if code, out, errOut := runTong(t, env, "wallet", "refill", list[0].ID); code != 0 || !strings.Contains(out, "copies") {
		t.Errorf("refill: %d %q %q", code, out, errOut)
	}
	bad := map[string]string{"TONG_WALLET": wpath, "TONG_WALLET_PASSPHRASE": "wrong"}
	if code, _, errOut := runTong(t, bad, "wallet", "list"); code != 1 || !strings.Contains(errOut, "wrong passphrase") {
		t.Errorf("wrong passphrase: %d %q", code, errOut)
	}

	// A counter without a registry identity (redirect_uri: prefix,
	// unsigned): shown as UNVERIFIED, and gets only what it asked.
	var mu sync.Mutex
	var posted url.Values
	ctr := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		posted = r.PostForm
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer ctr.Close()
	q := url.Values{"client_id": {"redirect_uri:" + ctr.URL + "/response"}, "response_type": {"vp_token"}, "response_mode": {"direct_post"},
		"response_uri": {ctr.URL + "/response"}, "nonce": {"n-123"},
		"dcql_query": {`{"credentials":[{"id":"pid","format":"dc+sd-jwt","meta":{"vct_values":["urn:tong:vct:citizen-identity:1"]},"claims":[{"path":["age_equal_or_over","18"]}]}]}`}}
	reqURI := "openid4vp://?" + q.Encode()
	code, out, errOut = runTong(t, env, "wallet", "present", reqURI, "--yes")
	if code != 0 || !strings.Contains(errOut, "UNVERIFIED") || !strings.Contains(errOut, "age_equal_or_over.18 = true") {
		t.Fatalf("present: %d %q %q", code, out, errOut)
	}
	if !strings.Contains(out, "Shared with an unverified requester (redirect_uri:") {
		t.Errorf("present to an unverified requester says %q", out)
	}
	mu.Lock()
	vp := posted.Get("vp_token")
	mu.Unlock()
	if !strings.Contains(vp, `"pid"`) {
		t.Fatalf("counter got %q", vp)
	}
	// Saying no sends no credential.
	code, _, errOut = runTong(t, env, "wallet", "present", reqURI)
	if code != 1 || !strings.Contains(errOut, "declined") {
		t.Errorf("declined present: %d %q", code, errOut)
	}
	if code, out, _ := runTong(t, env, "wallet", "history"); code != 0 || !strings.Contains(out, "redirect_uri:") || !strings.Contains(out, "age_equal_or_over.18") {
		t.Errorf("history: %d %q", code, out)
	}
	backup := filepath.Join(t.TempDir(), "b.tongwallet")
	if code, _, errOut := runTong(t, env, "wallet", "export", backup); code != 0 {
		t.Fatalf("export: %d %q", code, errOut)
	}
	restored := map[string]string{"TONG_WALLET": filepath.Join(t.TempDir(), "r.db"), "TONG_WALLET_PASSPHRASE": "correct horse"}
	if code, out, errOut := runTong(t, restored, "wallet", "import", backup); code != 0 || !strings.Contains(out, "Restored 1 credentials") {
		t.Fatalf("import: %d %q %q", code, out, errOut)
	}
}

// TestVerifierCLIDemo: a clerk starts a pay-fee verification, the citizen
// answers with `tong wallet present`, and the clerk sees the verdict.
func TestVerifierCLIDemo(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	base, stop := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data}, "--demo")
	defer stop()
	raw, _ := os.ReadFile(filepath.Join(data, "demo.json"))
	var demo demoFile
	if err := json.Unmarshal(raw, &demo); err != nil {
		t.Fatal(err)
	}
	psb := demo.Agencies[0]
	claims := filepath.Join(t.TempDir(), "claims.json")
	b, _ := json.Marshal(psb.Types[0].ExampleClaims)
	_ = os.WriteFile(claims, b, 0o600)
	_, out, _ := runTong(t, map[string]string{"TONG_SERVER": base, "TONG_TOKEN": psb.Token}, "issuer", "offer", "--type", "citizen-identity", "--claims", claims, "--json")
	var offer map[string]string
	_ = json.Unmarshal([]byte(out), &offer)
	wenv := map[string]string{"TONG_WALLET": filepath.Join(t.TempDir(), "me.db"), "TONG_WALLET_PASSPHRASE": "pw", "TONG_REGISTRY": base}
	runTong(t, wenv, "wallet", "init")
	if code, _, errOut := runTong(t, wenv, "wallet", "receive", offer["offer_uri"], "--tx-code", offer["tx_code"]); code != 0 {
		t.Fatalf("receive: %q", errOut)
	}

	payments := demo.Counters[0]
	cenv := map[string]string{"TONG_SERVER": base, "TONG_TOKEN": payments.Token}
	order := filepath.Join(t.TempDir(), "order.json")
	_ = os.WriteFile(order, []byte(`{"amount":"45.00","currency":"CNY","payee":"Dongcheng hall","order_id":"ord-9"}`), 0o600)
	code, out, errOut := runTong(t, cenv, "verifier", "request", "--purpose", "pay-fee", "--transaction-data", order, "--json")
	var req map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &req) != nil || !strings.HasPrefix(req["request_uri"], "openid4vp://?client_id=decentralized_identifier") {
		t.Fatalf("request: %d %q %q", code, out, errOut)
	}
	code, out, errOut = runTong(t, wenv, "wallet", "present", req["request_uri"], "--yes", "--require-registry")
	if code != 0 || !strings.Contains(errOut, "45.00") || !strings.Contains(errOut, "registry: did:tong:") {
		t.Fatalf("present: %d %q", code, errOut)
	}
	// The citizen is told who got the data by name, not by client_id.
	if !strings.Contains(out, "Shared with Dongcheng") || strings.Contains(out, "decentralized_identifier:") {
		t.Errorf("present says %q, want the verifier's name", out)
	}
	code, out, errOut = runTong(t, cenv, "verifier", "result", req["session_id"], "--wait")
	if code != 0 || !strings.Contains(out, "ACCEPTED") || !strings.Contains(out, "ord-9") || !strings.Contains(out, "110101199005170034") {
		t.Fatalf("result: %d %q %q", code, out, errOut)
	}
	// The list says the credential is valid, in words and in --json;
	// once the agency revokes it, it says revoked.
	if code, out, errOut := runTong(t, wenv, "wallet", "list"); code != 0 || !strings.Contains(out, "Citizen identity") || !strings.Contains(out, " valid,") {
		t.Errorf("list before revocation: %d %q %q", code, out, errOut)
	}
	ienv := map[string]string{"TONG_SERVER": base, "TONG_TOKEN": psb.Token}
	if code, out, errOut := runTong(t, ienv, "issuer", "revoke", offer["credential_id"]); code != 0 {
		t.Fatalf("revoke %q: %d %q %q", offer["credential_id"], code, out, errOut)
	}
	if code, out, errOut := runTong(t, wenv, "wallet", "list"); code != 0 || !strings.Contains(out, "REVOKED by the issuer") {
		t.Errorf("list after revocation: %d %q %q", code, out, errOut)
	}
	code, out, _ = runTong(t, wenv, "wallet", "list", "--json")
	var listed []struct {
		Status string `json:"status"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &listed) != nil || len(listed) != 1 || listed[0].Status != "revoked" {
		t.Errorf("list --json after revocation: %d %q", code, out)
	}
	// The meetings counter may not ask for payments.
	if code, _, errOut := runTong(t, map[string]string{"TONG_SERVER": base, "TONG_TOKEN": demo.Counters[1].Token}, "verifier", "request", "--purpose", "pay-fee", "--transaction-data", order); code != 1 || !strings.Contains(errOut, "unknown_purpose") {
		t.Errorf("wrong counter: %d %q", code, errOut)
	}
}
