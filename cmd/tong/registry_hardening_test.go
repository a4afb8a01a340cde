package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/sqlitedb"
)

// A demo data directory seeded before issuer URLs were bound only by the
// trust authority has no bindings once the registry's migration 0003 has
// dropped the ones documents made; tong serve --demo binds its agencies'
// URLs again by accrediting them with credentialIssuer (issue 16 item 1).
func TestServeDemoRebindsIssuerURLs(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	env := map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data}
	base, stop := serveForTest(t, env, "--demo")
	raw, err := os.ReadFile(filepath.Join(data, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var demo demoFile
	if err := json.Unmarshal(raw, &demo); err != nil {
		t.Fatal(err)
	}
	psb := demo.Agencies[0]
	boundTo := func(base string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + "/registry/issuers?url=" + url.QueryEscape(psb.IssuerURL))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b struct{ DID string }
		json.NewDecoder(resp.Body).Decode(&b)
		return resp.StatusCode, b.DID
	}
	if status, d := boundTo(base); status != http.StatusOK || d != psb.DID {
		t.Fatalf("after seeding: %s bound to %d %q, want %s", psb.IssuerURL, status, d, psb.DID)
	}
	stop()

	db, err := sqlitedb.Open(t.Context(), filepath.Join(data, "tong.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Writer().ExecContext(t.Context(), `DELETE FROM registry_issuer_urls`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	base, stop = serveForTest(t, env, "--demo")
	if status, d := boundTo(base); status != http.StatusOK || d != psb.DID {
		t.Errorf("after the restart: %s bound to %d %q, want %s", psb.IssuerURL, status, d, psb.DID)
	}
	stop()
}
