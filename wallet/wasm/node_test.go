//go:build !js

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
)

// controlServer serves journey_test.go's control API for a City: a new
// offer, a new counter request. sessions lists the requests made.
func controlServer(t testing.TB, c *tongtest.City) (ctl *control, sessions func() []string) {
	var mu sync.Mutex
	var ids []string
	types, _ := issuer.DemoTypes()
	ctr, err := c.Verifier.Authenticate(context.Background(), c.CounterTokens["identity-basic"])
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/offer", func(w http.ResponseWriter, r *http.Request) {
		o, err := c.Issuer.CreateOffer(r.Context(), "psb", "test", issuer.OfferRequest{Type: "citizen-identity", Claims: types["citizen-identity"].ExampleClaims})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		json.NewEncoder(w).Encode(ctlOffer{URI: o.OfferURI, TxCode: o.TxCode})
	})
	mux.HandleFunc("/request", func(w http.ResponseWriter, r *http.Request) {
		s, err := c.Verifier.CreateSession(r.Context(), ctr, verifier.NewRequest{Purpose: "identity-basic"})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		mu.Lock()
		ids = append(ids, s.ID)
		mu.Unlock()
		json.NewEncoder(w).Encode(ctlRequest{ID: s.ID, URI: s.RequestURI})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &control{base: c.URL, ctl: srv.URL, hc: c.Client()}, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), ids...)
	}
}

// BenchmarkPresentationHTTP is the native side of the ratio in
// docs/benchmarks.md; TestWasmUnderNode runs the same code in wasm.
func BenchmarkPresentationHTTP(b *testing.B) {
	c := tongtest.New(b, tongtest.Options{})
	ctl, _ := controlServer(b, c)
	benchPresentations(b, ctl)
}

// TestWasmUnderNode compiles this package's js tests to wasm and runs
// them under Node against a whole Tong on 127.0.0.1: the wasm wallet
// receives and presents over real HTTP (Node's fetch), and the counter's
// session ends accepted. With TONG_WASM_BENCH set it also runs
// BenchmarkPresentationHTTP in wasm and logs the result.
func TestWasmUnderNode(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the tests to wasm and runs Node")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is not installed; the wasm tests need Node")
		}
		t.Skip("node is not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "wasm.test.wasm")
	build := exec.Command("go", "test", "-c", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the wasm tests: %v\n%s", err, out)
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	runner := filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec_node.js")

	c := tongtest.New(t, tongtest.Options{})
	ctl, sessions := controlServer(t, c)
	// One request from this process first: the race detector orders an
	// in-process socket write before the server's reads, not a write by
	// another process, so without it the routes New registered look
	// unsynchronized with the server goroutines that Node's requests run.
	if resp, err := c.Client().Get(c.URL + "/registry/info"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	args := []string{"-test.v", "-test.run", "TestJourneyInWasm"}
	if os.Getenv("TONG_WASM_BENCH") != "" {
		args = append(args, "-test.bench", "BenchmarkPresentationHTTP", "-test.benchtime", os.Getenv("TONG_WASM_BENCH"))
	}
	// Go's js transport skips fetch when process.argv0 starts with
	// "node" (it expects Go's fake test network there); naming the
	// process otherwise makes it use Node's real fetch.
	cmd := exec.Command("bash", append([]string{"-c", `exec -a tong-wasm "$0" "$@"`, node, runner, bin}, args...)...)
	cmd.Env = append(os.Environ(), "TONG_CITY_URL="+ctl.base, "TONG_CONTROL_URL="+ctl.ctl)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestJourneyInWasm") {
		t.Fatalf("the wasm tests under Node: %v\n%s", err, out)
	}
	t.Logf("under Node:\n%s", out)
	ctr, _ := c.Verifier.Authenticate(t.Context(), c.CounterTokens["identity-basic"])
	ids := sessions()
	if len(ids) == 0 {
		t.Fatal("the wasm wallet asked for no counter request")
	}
	s, err := c.Verifier.Session(t.Context(), ctr, ids[0])
	if err != nil || s.Status != verifier.StatusAccepted {
		t.Fatalf("the counter's session after the wasm wallet presented: %+v, %v", s, err)
	}
}
