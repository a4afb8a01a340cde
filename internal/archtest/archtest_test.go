package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// module is the module path; packages are named below relative to it.
const module = "github.com/tongid/tong"

// knownExceptions are the rule violations the tree has today, each keyed
// as the test reports it and with its reason. Shrinking this list is
// someone's next job; growing it needs a reason as good as these.
var knownExceptions = map[string]string{
	// The native wallet opens its file by path (wallet.Create, Open,
	// Import), so its root links wallet/sqlitestore and with it the SQLite
	// driver. The js/wasm build does not (it uses wallet/idbstore).
	"wallet links a SQL driver": "wallet.Create/Open/Import open a SQLite file through wallet/sqlitestore",
}

// pkg is the part of go list -json's output the rules read.
type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
	Deps       []string
}

// goList runs go list -e -deps -json in the module root with env added
// to the environment, and returns every listed package by import path.
func goList(t *testing.T, env []string, patterns ...string) map[string]*pkg {
	t.Helper()
	gobin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if os.Getenv("GOROOT") == "" {
		gobin = "go"
	}
	cmd := exec.Command(gobin, append([]string{"list", "-e", "-deps", "-json"}, patterns...)...)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", patterns, err, stderr.Bytes())
	}
	pkgs := map[string]*pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		p := new(pkg)
		if err := dec.Decode(p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs[p.ImportPath] = p
	}
	if len(pkgs) == 0 {
		t.Fatalf("go list %v listed no packages", patterns)
	}
	return pkgs
}

// rel names a module package relative to the module ("" if outside it).
func rel(path string) string {
	if path == module {
		return "."
	}
	r, ok := strings.CutPrefix(path, module+"/")
	if !ok {
		return ""
	}
	return r
}

// under reports whether r is dir or below it.
func under(r, dir string) bool { return r == dir || strings.HasPrefix(r, dir+"/") }

// The layers of docs/architecture.md, top first. A package may import its
// own layer and those below it.
var layers = []struct {
	name string
	in   func(r string) bool
}{
	// tongtest wires a whole Tong for tests, as cmd/tong does for real.
	{"cmd", func(r string) bool {
		return under(r, "cmd") || under(r, "interop") || r == "docs" || under(r, "tongtest")
	}},
	{"web", func(r string) bool { return under(r, "web") }},
	{"services", func(r string) bool { return under(r, "services") }},
	{"domain", func(r string) bool {
		return under(r, "issuer") || under(r, "verifier") || under(r, "wallet") || under(r, "didregistry")
	}},
	{"credential/did", func(r string) bool { return under(r, "credential") || under(r, "did") }},
	{"internal", func(r string) bool { return under(r, "internal") }},
}

func layerOf(r string) int {
	for i, l := range layers {
		if l.in(r) {
			return i
		}
	}
	return -1
}

// category names the kind of forbidden third-party package path is, or "".
func category(path string) string {
	switch {
	case strings.HasPrefix(path, "github.com/go-chi/"), strings.HasPrefix(path, "github.com/gorilla/mux"):
		return "an HTTP router"
	case path == "modernc.org/sqlite" || strings.HasPrefix(path, "modernc.org/sqlite/"),
		strings.HasPrefix(path, "github.com/jackc/pgx"), strings.HasPrefix(path, "github.com/lib/pq"),
		strings.HasPrefix(path, "github.com/mattn/go-sqlite3"):
		return "a SQL driver"
	case strings.HasPrefix(path, "github.com/prometheus/"):
		return "Prometheus"
	}
	return ""
}

// isHTTPFace reports whether a module package is an HTTP face that web
// mounts (or web itself).
func isHTTPFace(r string) bool {
	base := r[strings.LastIndex(r, "/")+1:]
	return under(r, "web") || base == "httpapi" || base == "oid4vci"
}

// serverCode is what the browser wallet must not link, beyond category:
// the module's server-side packages.
func serverCode(r string) bool {
	return isHTTPFace(r) || under(r, "cmd") || under(r, "services") || under(r, "issuer") || under(r, "verifier") ||
		r == "internal/httpx" || r == "internal/store" || r == "didregistry/store" || r == "didregistry/witness"
}

// chain is the shortest import path from one package to another.
func chain(pkgs map[string]*pkg, from, to string) string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			var path []string
			for p := to; p != ""; p = prev[p] {
				if r := rel(p); r != "" {
					path = append(path, r)
				} else {
					path = append(path, p)
				}
			}
			slices.Reverse(path)
			return strings.Join(path, " → ")
		}
		if p := pkgs[cur]; p != nil {
			for _, im := range p.Imports {
				if _, seen := prev[im]; !seen {
					prev[im] = cur
					queue = append(queue, im)
				}
			}
		}
	}
	return from + " → … → " + to
}

// isServiceRoot reports whether r is a citizen service's root package
// (services/<name>), not one of its subpackages (an HTTP face or a store,
// which may link a router or a driver).
func isServiceRoot(r string) bool {
	name, ok := strings.CutPrefix(r, "services/")
	return ok && name != "" && !strings.Contains(name, "/")
}

// domainRoots are the packages that must not link server plumbing: the
// domain roots, the libraries under credential, and the registry's
// verifying client (which the wallet embeds).
func domainRoots(pkgs map[string]*pkg) []string {
	var out []string
	for path := range pkgs {
		r := rel(path)
		switch {
		case r == "issuer", r == "verifier", r == "wallet", r == "didregistry", r == "didregistry/client",
			under(r, "credential"), r == "did", isServiceRoot(r):
			out = append(out, path)
		}
	}
	slices.Sort(out)
	return out
}

// violations checks every rule on the module and returns what breaks
// them (the key the exceptions use, and how: an import chain) and the
// module's packages, relative to the module.
func violations(t *testing.T) (found map[string]string, listed map[string]bool) {
	found, listed = map[string]string{}, map[string]bool{}
	pkgs := goList(t, []string{"CGO_ENABLED=0"}, "./...")
	for path := range pkgs {
		if r := rel(path); r != "" {
			listed[r] = true
		}
	}

	roots := domainRoots(pkgs)
	for _, want := range []string{"issuer", "verifier", "wallet", "didregistry", "credential", "did"} {
		if !slices.Contains(roots, module+"/"+want) {
			t.Fatalf("go list did not list %s: the rule would check nothing", want)
		}
	}
	for _, root := range roots {
		for _, dep := range pkgs[root].Deps {
			if c := category(dep); c != "" {
				key := rel(root) + " links " + c
				if _, ok := found[key]; !ok {
					found[key] = chain(pkgs, root, dep)
				}
			}
		}
	}

	for path, p := range pkgs {
		r := rel(path)
		if r == "" || p.Standard {
			continue
		}
		from := layerOf(r)
		if from < 0 {
			t.Errorf("%s is in no layer of docs/architecture.md: add it to the layers", r)
			continue
		}
		root := r == "issuer" || r == "verifier" || r == "wallet" || r == "didregistry"
		for _, im := range p.Imports {
			ir := rel(im)
			if ir == "" {
				continue
			}
			to := layerOf(ir)
			if to >= 0 && to < from {
				found[r+" imports "+ir+" (layer "+layers[to].name+", above "+layers[from].name+")"] = r + " → " + ir
			}
			if root && isHTTPFace(ir) {
				found[r+" imports HTTP face "+ir] = r + " → " + ir
			}
		}
	}

	wasm := goList(t, []string{"GOOS=js", "GOARCH=wasm", "CGO_ENABLED=0"}, "./wallet")
	w := wasm[module+"/wallet"]
	if w == nil {
		t.Fatal("go list did not list the wallet for js/wasm")
	}
	for _, dep := range w.Deps {
		what := category(dep)
		if r := rel(dep); what == "" && r != "" && serverCode(r) {
			what = r
		}
		if what != "" {
			key := "wallet (js/wasm) links " + what
			if _, ok := found[key]; !ok {
				found[key] = chain(wasm, w.ImportPath, dep)
			}
		}
	}
	return found, listed
}

// TestDependencyRules fails on a rule violation that is not a known
// exception, and reports (go test -v) known exceptions that no longer
// happen.
func TestDependencyRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list over the module")
	}
	found, listed := violations(t)
	var keys []string
	for k := range found {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, ok := knownExceptions[k]; !ok {
			t.Errorf("%s: %s", k, found[k])
		} else {
			t.Logf("known exception: %s: %s (%s)", k, found[k], knownExceptions[k])
		}
	}
	// An exception that no longer happens fails, so the list only
	// shrinks. One about a package this tree does not have is inert.
	for _, k := range slices.Sorted(maps.Keys(knownExceptions)) {
		subject, _, _ := strings.Cut(k, " ")
		if _, ok := found[k]; !ok && listed[subject] {
			t.Errorf("known exception %q no longer happens: delete it from knownExceptions", k)
		}
	}
}

// TestRulesCatchViolations checks the rule helpers on made-up packages,
// so that a rule that silently matches nothing is caught.
func TestRulesCatchViolations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		path, want string
	}{
		{"github.com/go-chi/chi/v5", "an HTTP router"},
		{"github.com/go-chi/chi/v5/middleware", "an HTTP router"},
		{"modernc.org/sqlite", "a SQL driver"},
		{"modernc.org/sqlite/lib", "a SQL driver"},
		{"github.com/jackc/pgx/v5/stdlib", "a SQL driver"},
		{"github.com/prometheus/client_golang/prometheus", "Prometheus"},
		{"modernc.org/sqlitex", ""},
		{"golang.org/x/mod/sumdb/tlog", ""},
		{"net/http", ""},
	} {
		if got := category(tc.path); got != tc.want {
			t.Errorf("category(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
	for _, tc := range []struct {
		rel  string
		want string
	}{
		{"cmd/tong", "cmd"},
		{"tongtest", "cmd"},
		{"web", "web"},
		{"services/payments", "services"},
		{"issuer/oid4vci", "domain"},
		{"didregistry", "domain"},
		{"credential/dcql", "credential/did"},
		{"did", "credential/did"},
		{"internal/jose", "internal"},
	} {
		if got := layerOf(tc.rel); got < 0 || layers[got].name != tc.want {
			t.Errorf("layerOf(%q) = %d, want layer %q", tc.rel, got, tc.want)
		}
	}
	for _, tc := range []struct {
		rel  string
		want bool
	}{{"services/payments", true}, {"services/inquiries/httpapi", false}, {"services/inquiries/sqlstore", false}, {"services", false}, {"servicesx/a", false}} {
		if got := isServiceRoot(tc.rel); got != tc.want {
			t.Errorf("isServiceRoot(%q) = %v, want %v", tc.rel, got, tc.want)
		}
	}
	if layerOf("didx") >= 0 || layerOf("credentials") >= 0 {
		t.Error("layerOf matches a prefix that is not a directory")
	}
	for _, r := range []string{"web", "issuer/oid4vci", "verifier/httpapi", "didregistry/httpapi"} {
		if !isHTTPFace(r) {
			t.Errorf("isHTTPFace(%q) = false, want true", r)
		}
	}
	for _, r := range []string{"didregistry/client", "verifier", "internal/httpx"} {
		if isHTTPFace(r) {
			t.Errorf("isHTTPFace(%q) = true, want false", r)
		}
	}
}
