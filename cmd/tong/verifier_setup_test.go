package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServePurposesDir: purposes load from files at start; a bad file
// stops the server with the file's name.
func TestServePurposesDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "library-card.json"), []byte(`{"id":"library-card","display":[{"name":"Library card","locale":"en"}],
"dcql_query":{"credentials":[{"id":"pid","format":"dc+sd-jwt","meta":{"vct_values":["urn:tong:vct:citizen-identity:1"]},"claims":[{"path":["family_name"]}]}]}}`), 0o600)
	base, stop := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": t.TempDir(), "TONG_PURPOSES": dir})
	defer stop()
	if base == "" {
		t.Fatal("no server")
	}
	bad := t.TempDir()
	_ = os.WriteFile(filepath.Join(bad, "broken.json"), []byte(`{"id":"Bad Id"}`), 0o600)
	code, _, errOut := runTong(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": t.TempDir(), "TONG_PURPOSES": bad}, "serve")
	if code != 1 || !strings.Contains(errOut, "broken.json") {
		t.Fatalf("bad purpose file: %d %q", code, errOut)
	}
}
