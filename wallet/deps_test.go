//go:build !js

package wallet_test

import (
	"os"
	"os/exec"
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
	for _, want := range []string{"github.com/tongid/tong/wallet", "github.com/tongid/tong/didregistry/client", "github.com/tongid/tong/wallet/idbstore", "github.com/tongid/tong/wallet/wasm"} {
		found := false
		for _, d := range deps {
			found = found || d == want
		}
		if !found {
			t.Errorf("go list -deps does not list %s; the check would pass vacuously", want)
		}
	}
}
