package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIssuerCLIDemo drives the issuer commands against `tong serve --demo`:
// offer (text and --json), show, suspend, revoke, import with a progress
// bar, audit, and the refusals a clerk will meet.
func TestIssuerCLIDemo(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	base, stop := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data}, "--demo")
	defer stop()
	raw, err := os.ReadFile(filepath.Join(data, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var demo demoFile
	if err := json.Unmarshal(raw, &demo); err != nil {
		t.Fatal(err)
	}
	psb := demo.Agencies[0]
	if psb.Token == "" || len(psb.Types) != 2 || psb.Types[0].ExampleClaims == nil {
		t.Fatalf("demo.json agency = %+v", psb)
	}
	env := map[string]string{"TONG_SERVER": base, "TONG_TOKEN": psb.Token}
	claims := filepath.Join(t.TempDir(), "claims.json")
	b, _ := json.Marshal(psb.Types[0].ExampleClaims)
	if err := os.WriteFile(claims, b, 0o600); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runTong(t, env, "issuer", "offer", "--type", psb.Types[0].ID, "--claims", claims)
	if code != 0 || !strings.Contains(out, "openid-credential-offer://?credential_offer_uri=") || !strings.Contains(out, "PIN (tx_code)") || !strings.Contains(out, "█") {
		t.Fatalf("offer: %d %q %q", code, out, errOut)
	}
	png := filepath.Join(t.TempDir(), "offer.png")
	code, out, errOut = runTong(t, env, "issuer", "offer", "--type", psb.Types[0].ID, "--claims", claims, "--json", "--qr-png", png)
	var o struct {
		OfferURI     string `json:"offer_uri"`
		TxCode       string `json:"tx_code"`
		OfferID      string `json:"offer_id"`
		CredentialID string `json:"credential_id"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &o) != nil || o.OfferID == "" || len(o.TxCode) != 6 || !strings.HasPrefix(o.OfferURI, "openid-credential-offer://") {
		t.Fatalf("offer --json: %d %q %q", code, out, errOut)
	}
	if fi, err := os.Stat(png); err != nil || fi.Size() < 100 {
		t.Errorf("--qr-png: %v", err)
	}
	// Not yet issued: revoking refuses with not_found.
	if code, _, errOut := runTong(t, env, "issuer", "revoke", o.CredentialID); code != 1 || !strings.Contains(errOut, "not_found") {
		t.Errorf("revoke before issuance: %d %q", code, errOut)
	}
	// A wrong token is a clear error with a hint.
	if code, _, errOut := runTong(t, map[string]string{"TONG_SERVER": base, "TONG_TOKEN": "tong_at_wrong"}, "issuer", "audit"); code != 1 || !strings.Contains(errOut, "unauthorized") || !strings.Contains(errOut, "hint:") {
		t.Errorf("wrong token: %d %q", code, errOut)
	}
	// Bad claims: the server names the claim.
	bad := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(bad, []byte(`{"family_name":"王"}`), 0o600)
	if code, _, errOut := runTong(t, env, "issuer", "offer", "--type", psb.Types[0].ID, "--claims", bad); code != 1 || !strings.Contains(errOut, "invalid_claims") {
		t.Errorf("bad claims: %d %q", code, errOut)
	}
	if code, _, _ := runTong(t, env, "issuer", "offer", "--claims", claims); code != 2 {
		t.Errorf("missing --type: exit %d, want 2", code)
	}

	// Bulk import: one good row, one bad row.
	csvFile := filepath.Join(t.TempDir(), "citizens.csv")
	_ = os.WriteFile(csvFile, []byte("family_name,given_name,birthdate,age_equal_or_over.18,age_equal_or_over.60,nationalities,address.locality,address.district,personal_administrative_number\n"+
		"张,伟,1985-02-03,true,false,CN,北京市,西城区,110102198502030011\n"+
		"李,娜,not-a-date,true,false,CN|HK,北京市,朝阳区,110105199001010022\n"), 0o600)
	results := filepath.Join(t.TempDir(), "offers.csv")
	code, _, errOut = runTong(t, env, "issuer", "import", csvFile, "--type", "citizen-identity", "--out", results, "--progress", "always")
	if code != 1 || !strings.Contains(errOut, "[") || !strings.Contains(errOut, "2/2") || !strings.Contains(errOut, "1 offers created, 1 rows failed") {
		t.Fatalf("import: %d %q", code, errOut)
	}
	res, _ := os.ReadFile(results)
	lines := strings.Split(strings.TrimSpace(string(res)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "openid-credential-offer://") || !strings.Contains(lines[2], "birthdate must be a date") {
		t.Fatalf("results CSV:\n%s", res)
	}
	if fi, _ := os.Stat(results); fi.Mode().Perm() != 0o600 {
		t.Errorf("results file mode %v: it holds PINs", fi.Mode().Perm())
	}
	code, out, _ = runTong(t, env, "issuer", "audit", "--json")
	if code != 0 || !strings.Contains(out, "offer.create") || strings.Contains(out, "110102198502030011") {
		t.Errorf("audit: %d %q", code, out)
	}
}

// TestIssuerTypeCLI: staff add a credential type from a file; a bad file
// is refused before anything is sent.
func TestIssuerTypeCLI(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	base, stop := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data}, "--demo")
	defer stop()
	raw, _ := os.ReadFile(filepath.Join(data, "demo.json"))
	var demo demoFile
	_ = json.Unmarshal(raw, &demo)
	env := map[string]string{"TONG_SERVER": base, "TONG_TOKEN": demo.Agencies[1].Token}
	def := filepath.Join(t.TempDir(), "parking.json")
	_ = os.WriteFile(def, []byte(`{"id":"parking-permit","vct":"urn:tong:vct:parking-permit:1","display":[{"name":"Parking permit","locale":"en"},{"name":"停车许可","locale":"zh"}],
"validity_days":365,"claims":[{"path":["plate"],"type":"string","mandatory":true},{"path":["zone"],"type":"string","mandatory":true}]}`), 0o600)
	if code, out, errOut := runTong(t, env, "issuer", "type-put", def); code != 0 || !strings.Contains(out, "parking-permit") {
		t.Fatalf("type-put: %d %q %q", code, out, errOut)
	}
	if code, out, _ := runTong(t, env, "issuer", "types"); code != 0 || !strings.Contains(out, "urn:tong:vct:parking-permit:1") {
		t.Fatalf("types: %d %q", code, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(bad, []byte(`{"id":"x","vct":"urn:x","display":[{"name":"X"}],"validity_days":1,"claims":[{"path":["cnf"],"type":"string"}]}`), 0o600)
	if code, _, errOut := runTong(t, env, "issuer", "type-put", bad); code != 2 || !strings.Contains(errOut, "registered claim") {
		t.Fatalf("bad type: %d %q", code, errOut)
	}
}
