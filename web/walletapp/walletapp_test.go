package walletapp

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

var fakeEngine = fstest.MapFS{
	EngineWASM:   {Data: append([]byte("\x00asm\x01\x00\x00\x00"), bytes.Repeat([]byte("engine "), 4000)...)},
	EngineLoader: {Data: []byte("globalThis.Go = class {};\n")},
}

func get(t *testing.T, h http.Handler, path string, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var refRE = regexp.MustCompile(`(?:src|href|content)="([^"]+\.(?:js|css|png|wasm|webmanifest))"`)

func TestAppServesHashedImmutableAssets(t *testing.T) {
	t.Parallel()
	app, err := New(Config{Engine: fakeEngine})
	if err != nil {
		t.Fatal(err)
	}
	if !app.HasEngine() {
		t.Fatal("HasEngine() = false with an engine")
	}
	h := app.Handler()
	resp := get(t, h, "/")
	page := body(t, resp)
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != cacheRevalid {
		t.Fatalf("GET / = %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self' 'wasm-unsafe-eval';", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "'unsafe-eval'") {
		t.Errorf("Content-Security-Policy %q allows inline script or eval", csp)
	}
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(page) || strings.Contains(page, " onclick=") || strings.Contains(page, "style=") {
		t.Errorf("the page has inline script or style:\n%s", page)
	}
	if strings.Contains(page, "make wallet-wasm") {
		t.Error("the page says the engine is missing, though it is there")
	}
	refs := refRE.FindAllStringSubmatch(page, -1)
	if len(refs) < 6 {
		t.Fatalf("the page references %d assets: %q", len(refs), refs)
	}
	var sawWASM bool
	for _, m := range refs {
		ref := m[1]
		resp := get(t, h, "/"+ref, "Accept-Encoding", "gzip, br")
		b := body(t, resp)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d", ref, resp.StatusCode)
			continue
		}
		if ref == "manifest.webmanifest" {
			continue
		}
		if resp.Header.Get("Cache-Control") != cacheImmutable || !regexp.MustCompile(`\.[0-9a-f]{10}\.`).MatchString(ref) {
			t.Errorf("GET %s: Cache-Control %q, want a hashed name cached immutably", ref, resp.Header.Get("Cache-Control"))
		}
		if strings.HasSuffix(ref, ".wasm") {
			sawWASM = true
			if ct := resp.Header.Get("Content-Type"); ct != "application/wasm" {
				t.Errorf("GET %s: Content-Type %q, want application/wasm (instantiateStreaming needs it)", ref, ct)
			}
			if resp.Header.Get("Content-Encoding") != "gzip" {
				t.Errorf("GET %s with Accept-Encoding gzip: not compressed", ref)
			} else if zr, err := gzip.NewReader(strings.NewReader(b)); err != nil {
				t.Errorf("GET %s: %v", ref, err)
			} else if raw, _ := io.ReadAll(zr); !bytes.Equal(raw, fakeEngine[EngineWASM].Data) {
				t.Errorf("GET %s: the gzip body is not the engine", ref)
			}
		}
	}
	if !sawWASM {
		t.Error("the page does not name the engine")
	}
	if resp := get(t, h, "/tong-wallet.wasm"); resp.StatusCode != 404 {
		t.Errorf("GET /tong-wallet.wasm (unhashed) = %d, want 404", resp.StatusCode)
	}
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", rec.Code)
	}
	if et := get(t, h, "/").Header.Get("ETag"); get(t, h, "/", "If-None-Match", et).StatusCode != http.StatusNotModified {
		t.Error("GET / with the ETag is not 304")
	}
}

func TestServiceWorkerPrecachesEveryAsset(t *testing.T) {
	t.Parallel()
	app, err := New(Config{Engine: fakeEngine})
	if err != nil {
		t.Fatal(err)
	}
	h := app.Handler()
	sw := body(t, get(t, h, "/sw.js"))
	m := regexp.MustCompile(`const ASSETS = (\[.*\]);`).FindStringSubmatch(sw)
	if m == nil {
		t.Fatalf("sw.js has no asset list:\n%s", sw)
	}
	var assets []string
	if err := json.Unmarshal([]byte(m[1]), &assets); err != nil {
		t.Fatal(err)
	}
	page := body(t, get(t, h, "/"))
	for _, ref := range refRE.FindAllStringSubmatch(page, -1) {
		found := false
		for _, a := range assets {
			found = found || a == ref[1]
		}
		if !found {
			t.Errorf("sw.js does not precache %s, so the app would not open offline", ref[1])
		}
	}
	for _, a := range assets {
		if resp := get(t, h, "/"+strings.TrimPrefix(a, "./")); resp.StatusCode != 200 {
			t.Errorf("precached %s = %d", a, resp.StatusCode)
		}
	}
	other, _ := New(Config{Engine: fstest.MapFS{EngineWASM: {Data: []byte("\x00asm other")}, EngineLoader: fakeEngine[EngineLoader]}})
	if body(t, get(t, other.Handler(), "/sw.js")) == sw {
		t.Error("a new engine does not change the service worker, so phones would keep the old one")
	}
}

func TestManifestAndIcons(t *testing.T) {
	t.Parallel()
	app, err := New(Config{Engine: fakeEngine})
	if err != nil {
		t.Fatal(err)
	}
	h := app.Handler()
	resp := get(t, h, "/manifest.webmanifest")
	if ct := resp.Header.Get("Content-Type"); ct != "application/manifest+json" {
		t.Errorf("manifest Content-Type %q", ct)
	}
	var man struct {
		Name, ShortName, StartURL, Display string
		Icons                              []struct{ Src, Sizes, Type, Purpose string }
	}
	raw := body(t, resp)
	if err := json.Unmarshal([]byte(strings.NewReplacer("short_name", "ShortName", "start_url", "StartURL").Replace(raw)), &man); err != nil {
		t.Fatalf("manifest: %v\n%s", err, raw)
	}
	if man.Display != "standalone" || man.StartURL != "./" || !strings.Contains(man.Name, "钱包") {
		t.Errorf("manifest %+v", man)
	}
	var maskable, big bool
	for _, ic := range man.Icons {
		resp := get(t, h, "/"+ic.Src)
		img, err := png.Decode(resp.Body)
		if err != nil {
			t.Errorf("icon %s: %v", ic.Src, err)
			continue
		}
		b := img.Bounds()
		if got := strconv.Itoa(b.Dx()) + "x" + strconv.Itoa(b.Dy()); got != ic.Sizes {
			t.Errorf("icon %s is %s, manifest says %s", ic.Src, got, ic.Sizes)
		}
		maskable = maskable || ic.Purpose == "maskable"
		big = big || ic.Sizes == "512x512"
	}
	if !maskable || !big {
		t.Errorf("icons %+v: installing needs a 512×512 and a maskable icon", man.Icons)
	}
}

func TestMissingEngineSaysHowToBuildIt(t *testing.T) {
	t.Parallel()
	app, err := New(Config{Engine: fstest.MapFS{}})
	if err != nil {
		t.Fatal(err)
	}
	if app.HasEngine() {
		t.Fatal("HasEngine() = true without an engine")
	}
	page := body(t, get(t, app.Handler(), "/"))
	for _, want := range []string{"make wallet-wasm", "engine_missing", "钱包引擎尚未构建"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page without an engine lacks %q", want)
		}
	}
	if err := app.Export(t.TempDir()); !errors.Is(err, ErrNoEngine) {
		t.Errorf("Export without an engine = %v, want ErrNoEngine", err)
	}
}

func TestExport(t *testing.T) {
	t.Parallel()
	app, err := New(Config{Engine: fakeEngine, Registry: "http://192.0.2.7:8080"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := app.Export(dir); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), `<meta name="tong-registry" content="http://192.0.2.7:8080">`) ||
		!strings.Contains(string(page), "connect-src 'self' https: http://192.0.2.7:8080;") {
		t.Errorf("the exported page does not name its registry in the meta and the policy:\n%s", page)
	}
	for _, ref := range refRE.FindAllStringSubmatch(string(page), -1) {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(ref[1]))); err != nil {
			t.Errorf("the exported page references %s: %v", ref[1], err)
		}
	}
	for _, n := range []string{"sw.js", "manifest.webmanifest"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Error(err)
		}
	}
	if _, err := New(Config{Registry: "javascript:alert(1)"}); err == nil {
		t.Error("New accepted a javascript: registry")
	}
}

func TestPrecompressedEngine(t *testing.T) {
	t.Parallel()
	wasm := fakeEngine[EngineWASM].Data
	var good bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&good, gzip.BestSpeed)
	zw.Write(wasm)
	zw.Close()
	var stale bytes.Buffer
	zw, _ = gzip.NewWriterLevel(&stale, gzip.BestSpeed)
	zw.Write([]byte("\x00asm an older engine"))
	zw.Close()
	for _, tc := range []struct {
		name    string
		gz      []byte
		useFile bool
	}{
		{"matching", good.Bytes(), true},
		{"stale", stale.Bytes(), false},
		{"not gzip", []byte("nonsense"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			engine := fstest.MapFS{EngineWASM: fakeEngine[EngineWASM], EngineLoader: fakeEngine[EngineLoader], EngineWASM + ".gz": {Data: tc.gz}}
			app, err := New(Config{Engine: engine})
			if err != nil {
				t.Fatal(err)
			}
			h := app.Handler()
			ref := regexp.MustCompile(`content="(tong-wallet\.[0-9a-f]+\.wasm)"`).FindStringSubmatch(body(t, get(t, h, "/")))
			if ref == nil {
				t.Fatal("no engine on the page")
			}
			resp := get(t, h, "/"+ref[1], "Accept-Encoding", "gzip")
			served := body(t, resp)
			if resp.Header.Get("Content-Encoding") != "gzip" {
				t.Fatal("the engine is not served compressed")
			}
			if got := served == string(tc.gz); got != tc.useFile {
				t.Errorf("served the given .gz = %v, want %v", got, tc.useFile)
			}
			zr, err := gzip.NewReader(strings.NewReader(served))
			if err != nil {
				t.Fatal(err)
			}
			if raw, _ := io.ReadAll(zr); !bytes.Equal(raw, wasm) {
				t.Error("the compressed engine is not the engine")
			}
		})
	}
}
