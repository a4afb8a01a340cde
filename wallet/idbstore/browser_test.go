//go:build !js

package idbstore_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tongid/tong/internal/browsertest"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/wallet"
)

// page runs a Go test binary compiled to wasm, with Go's wasm_exec.js,
// and records its output and exit code for chromedp to read.
const page = `<!doctype html><meta charset="utf-8"><title>idbstore tests</title>
<script src="wasm_exec.js"></script>
<script src="run.js"></script>`

const runJS = `window.__out = [];
const log = console.log.bind(console);
console.log = (...a) => { window.__out.push(a.join(" ")); log(...a); };
const go = new Go();
go.argv = ["idbstore.test", "-test.v"];
go.env = Object.assign({}, go.env, ENV);
go.exit = (code) => { window.__exit = code; };
WebAssembly.instantiateStreaming(fetch("idbstore.test.wasm"), go.importObject)
  .then((r) => go.run(r.instance))
  .catch((e) => { window.__out.push("load: " + e); window.__exit = 3; });
`

// TestIndexedDBInChromium builds this package's tests for js/wasm and
// runs them in headless Chromium against its real IndexedDB. The native
// side gives them a backup exported from a SQLite wallet (the CLI's) and
// imports the backup they export back into SQLite.
func TestIndexedDBInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm test binary and starts Chromium")
	}
	path := browsertest.Chromium(t)
	dir := t.TempDir()
	build := exec.Command("go", "test", "-c", "-o", filepath.Join(dir, "idbstore.test.wasm"), ".")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the wasm tests: %v\n%s", err, out)
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	wasmExec, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Fatal(err)
	}

	// A SQLite wallet with two credentials, exported as the CLI does.
	c := tongtest.New(t, tongtest.Options{})
	cli := c.Citizen(t, nil)
	var backup bytes.Buffer
	if err := cli.Export(t.Context(), &backup, []byte("cli pass")); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var fromPhone []byte
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, page)
	})
	mux.HandleFunc("/wasm_exec.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write(wasmExec)
	})
	var srv *httptest.Server
	mux.HandleFunc("/run.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		io.WriteString(w, strings.Replace(runJS, "ENV", `{"TONG_BACKUP_URL": "`+srv.URL+`/backup", "TONG_REDIRECT_URL": "`+srv.URL+`/offer"}`, 1))
	})
	mux.HandleFunc("/idbstore.test.wasm", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/wasm")
		http.ServeFile(w, r, filepath.Join(dir, "idbstore.test.wasm"))
	})
	mux.HandleFunc("/offer", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/offer-target", http.StatusFound)
	})
	mux.HandleFunc("/offer-target", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"credential_issuer":"`+srv.URL+`/issuers/psb","credential_configuration_ids":["citizen-identity"],`+
			`"grants":{"urn:ietf:params:oauth:grant-type:pre-authorized_code":{"pre-authorized_code":"x"}}}`)
	})
	mux.HandleFunc("/backup", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(io.LimitReader(r.Body, wallet.MaxBackupSize))
			mu.Lock()
			fromPhone = b
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(backup.Bytes())
	})
	srv = httptest.NewServer(mux)
	defer srv.Close()

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.NoFirstRun,
		chromedp.UserDataDir(browsertest.ProfileDir(t)),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var code int
	var out []string
	err = chromedp.Run(ctx, chromedp.Navigate(srv.URL+"/"),
		chromedp.Poll(`window.__exit !== undefined`, nil, chromedp.WithPollingInterval(100*time.Millisecond)),
		chromedp.Evaluate(`window.__exit`, &code), chromedp.Evaluate(`window.__out`, &out))
	if err != nil {
		t.Fatalf("running the wasm tests in Chromium: %v", err)
	}
	log := strings.Join(out, "\n")
	if code != 0 || !strings.Contains(log, "--- PASS: TestStoreContract") || !strings.Contains(log, "--- PASS: TestWalletOnIndexedDB") ||
		!strings.Contains(log, "--- PASS: TestNoRedirectsInBrowser") {
		t.Fatalf("the IndexedDB tests in Chromium exited %d:\n%s", code, log)
	}
	t.Logf("in Chromium:\n%s", log)

	mu.Lock()
	defer mu.Unlock()
	w, err := wallet.Import(t.Context(), filepath.Join(dir, "back.db"), bytes.NewReader(fromPhone), []byte("phone pass"), wallet.Options{})
	if err != nil {
		t.Fatalf("importing the phone's backup into SQLite: %v", err)
	}
	defer w.Close()
	if cs, err := w.Credentials(t.Context()); err != nil || len(cs) != 2 {
		t.Fatalf("the phone's backup in SQLite: %d credentials, %v", len(cs), err)
	}
}
