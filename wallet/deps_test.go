//go:build !js

package wallet_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tongid/tong/wallet"
	"github.com/tongid/tong/wallet/memstore"
	"github.com/tongid/tong/wallet/sqlitestore"
)

var (
	_ wallet.Store = (*sqlitestore.Store)(nil)
	_ wallet.Store = (*memstore.Store)(nil)
)

// TestWasmLinksNoServerCode builds the dependency list of the wallet, its
// registry client and the browser entry point for GOOS=js GOARCH=wasm and
// fails if server code is in it: the SQLite driver, chi, Prometheus, or
// the registry's HTTP server and store.
func TestWasmLinksNoServerCode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	if os.Getenv("GOOS") == "js" {
		t.Skip("runs natively only")
	}
	cmd := exec.Command("go", "list", "-deps", "./...", "../didregistry/client")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps (GOOS=js GOARCH=wasm): %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 {
		t.Fatalf("go list gave %d packages; want the wallet's whole dependency list", len(deps))
	}
	forbidden := []string{
		"modernc.org/sqlite", "github.com/go-chi/", "github.com/prometheus/",
		"github.com/tongid/tong/didregistry/httpapi", "github.com/tongid/tong/didregistry/store",
		"github.com/tongid/tong/internal/store", "github.com/tongid/tong/internal/httpx",
		"database/sql",
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || strings.HasPrefix(d, f) {
				t.Errorf("the wasm wallet links %s (forbidden: %s)", d, f)
			}
		}
	}
	for _, want := range []string{"github.com/tongid/tong/wallet", "github.com/tongid/tong/didregistry/client", "github.com/tongid/tong/wallet/idbstore", "github.com/tongid/tong/wallet/wasm",
		"github.com/tongid/tong/credential/vciwire"} {
		found := false
		for _, d := range deps {
			found = found || d == want
		}
		if !found {
			t.Errorf("go list -deps does not list %s; the check would pass vacuously", want)
		}
	}
}

// TestUnderWasm runs the wallet's portable tests (store_test.go: the
// sealing, lockout and backup code the browser runs) compiled with
// GOOS=js GOARCH=wasm, under Node with Go's go_js_wasm_exec.
func TestUnderWasm(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the tests to wasm")
	}
	if os.Getenv("GOOS") == "js" {
		t.Skip("runs natively only")
	}
	if _, err := exec.LookPath("node"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is not installed; the wasm tests need Node (apt-get install nodejs)")
		}
		t.Skip("node is not installed")
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "test", "-count=1", "-v", ".", "./memstore")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm",
		"PATH="+os.Getenv("PATH")+string(os.PathListSeparator)+filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("GOOS=js GOARCH=wasm go test: %v\n%s", err, out)
	}
	for _, name := range []string{"TestLockoutRule", "TestSealedStore", "TestPresentOffline"} {
		if !strings.Contains(string(out), "--- PASS: "+name) {
			t.Errorf("%s did not pass under wasm:\n%s", name, out)
		}
	}
}
