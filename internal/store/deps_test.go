package store_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The packages that use a *store.DB link no SQL driver: only sqlitedb and
// pgdb (and whoever imports them: cmd/tong, tests) do.
func TestNoDriverLinked(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go tool: %v", err)
	}
	pkgs := []string{"internal/store", "issuer", "verifier", "didregistry", "didregistry/store", "didregistry/witness", "services/meetings", "services/payments"}
	drivers := []string{"modernc.org/sqlite", "github.com/jackc/pgx/v5"}
	for _, p := range pkgs {
		out, err := exec.Command(goTool, "list", "-deps", "github.com/tongid/tong/"+p).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", p, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, d := range drivers {
				if dep == d || strings.HasPrefix(dep, d+"/") {
					t.Errorf("%s links the driver %s", p, dep)
				}
			}
		}
	}
	out, err := exec.Command(goTool, "list", "-deps", "github.com/tongid/tong/internal/store/sqlitedb").Output()
	if err != nil || !strings.Contains(string(out), "modernc.org/sqlite\n") {
		t.Errorf("sqlitedb does not link modernc.org/sqlite (%v): the check above would pass vacuously", err)
	}
}
