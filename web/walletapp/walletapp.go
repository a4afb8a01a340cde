package walletapp

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template"
)

//go:embed static
var staticFS embed.FS

// Engine files: the wallet library compiled to WebAssembly, and Go's
// loader for it. `make wallet-wasm` writes both into static/ (they are not
// committed); without them the app says how to build them.
const (
	EngineWASM   = "tong-wallet.wasm"
	EngineLoader = "wasm_exec.js"
)

// Cache lifetimes. Assets carry a content hash in their name and never
// change; the entry points (the page, the service worker, the manifest)
// are revalidated on every load so that a new version is seen at once.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheRevalid   = "no-cache"
)

// Config is what New needs; the zero value serves the embedded app for a
// registry on the same origin.
type Config struct {
	// Registry is the DID registry the app proposes when a wallet is
	// created. "" means the origin the app is served from, as under
	// `tong serve`; a static copy hosted elsewhere needs it.
	Registry string
	// Engine, if set, holds tong-wallet.wasm and wasm_exec.js and takes
	// precedence over the embedded copies (tests build the engine into a
	// temporary directory).
	Engine fs.FS
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.Registry != "" {
		u, err := url.Parse(c.Registry)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("walletapp: registry %q: want an http(s) URL", c.Registry)
		}
	}
	return nil
}

// App is the built wallet app: every file, with its final name.
type App struct {
	files    map[string]*file // by served name
	hasWASM  bool
	registry string
}

type file struct {
	name  string
	body  []byte
	ctype string
	cache string
	etag  string
	// gzip is the body compressed (nil when that does not pay, or for
	// PNGs), made at the first request that accepts it: best compression
	// of the engine takes seconds, which a start should not wait for.
	gzip func() []byte
}

// compress returns body gzip-compressed at best compression, or nil when
// that saves less than a tenth.
func compress(body []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(body)
	_ = zw.Close()
	if buf.Len() >= len(body)*9/10 {
		return nil
	}
	return buf.Bytes()
}

// precompressed returns gz if it is body compressed, else nil. It checks
// the gzip header and the trailer's CRC-32 and size against body (RFC
// 1952 §2.3.1), which tells a stale file from the right one without
// inflating 13 MB.
func precompressed(gz, body []byte) []byte {
	if len(gz) < 18 {
		return nil
	}
	if _, err := gzip.NewReader(bytes.NewReader(gz)); err != nil {
		return nil
	}
	trailer := gz[len(gz)-8:]
	if binary.LittleEndian.Uint32(trailer[:4]) != crc32.ChecksumIEEE(body) || binary.LittleEndian.Uint32(trailer[4:]) != uint32(len(body)) {
		return nil
	}
	return gz
}

// hashed are the assets served under a content-hashed name.
var hashed = []string{"app.js", "app.css", "vendor/jsQR.js", EngineLoader, EngineWASM,
	"icon-192.png", "icon-512.png", "icon-maskable-512.png", "apple-touch-icon.png"}

// New builds the app: it names each asset after its content, renders the
// page, the service worker and the manifest with those names, and
// compresses what is worth compressing.
func New(cfg Config) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	src, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	raw := map[string][]byte{}
	for _, n := range []string{"index.html", "sw.js", "manifest.webmanifest", "app.js", "app.css", "vendor/jsQR.js"} {
		b, err := fs.ReadFile(src, n)
		if err != nil {
			return nil, fmt.Errorf("walletapp: %w", err)
		}
		raw[n] = b
	}
	for _, n := range []string{EngineWASM, EngineLoader} {
		var b []byte
		if cfg.Engine != nil {
			b, err = fs.ReadFile(cfg.Engine, n)
		} else {
			b, err = fs.ReadFile(src, n)
		}
		if err == nil && len(b) > 0 {
			raw[n] = b
		}
	}
	// The engine may come compressed beside it (make wallet-wasm writes
	// tong-wallet.wasm.gz), which spares compressing it here.
	gzipped := map[string][]byte{}
	if b, ok := raw[EngineWASM]; ok {
		var gz []byte
		if cfg.Engine != nil {
			gz, _ = fs.ReadFile(cfg.Engine, EngineWASM+".gz")
		} else {
			gz, _ = fs.ReadFile(src, EngineWASM+".gz")
		}
		if gz != nil {
			gzipped[EngineWASM] = precompressed(gz, b)
		}
	}
	for n, b := range icons() {
		raw[n] = b
	}
	a := &App{files: map[string]*file{}, registry: cfg.Registry}
	_, a.hasWASM = raw[EngineWASM]
	if _, ok := raw[EngineLoader]; !ok {
		a.hasWASM = false
	}

	names := map[string]string{} // logical → served
	for _, n := range hashed {
		b, ok := raw[n]
		if !ok {
			continue
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(n)
		served := strings.TrimSuffix(n, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		names[n] = served
		a.add(served, b, gzipped[n], cacheImmutable)
	}
	var assets []string
	for _, n := range hashed {
		if s, ok := names[n]; ok {
			assets = append(assets, s)
		}
	}
	sort.Strings(assets)
	ver := sha256.New()
	for _, s := range assets {
		ver.Write([]byte(s + "\n"))
	}
	data := pageData{
		Asset:    func(n string) string { return names[n] },
		WASM:     a.hasWASM,
		Registry: cfg.Registry,
		CSP:      contentSecurityPolicy(cfg.Registry, false),
		Version:  hex.EncodeToString(ver.Sum(nil)[:8]),
	}
	data.Assets = append([]string{"./", "manifest.webmanifest"}, assets...)
	data.AssetsJSON = mustJSON(data.Assets)
	for _, n := range []string{"index.html", "sw.js", "manifest.webmanifest"} {
		t, err := template.New(n).Option("missingkey=error").Parse(string(raw[n]))
		if err != nil {
			return nil, fmt.Errorf("walletapp: %s: %w", n, err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return nil, fmt.Errorf("walletapp: %s: %w", n, err)
		}
		a.add(n, buf.Bytes(), nil, cacheRevalid)
	}
	a.files[""] = a.files["index.html"]
	return a, nil
}

type pageData struct {
	Asset      func(string) string
	WASM       bool
	Registry   string
	CSP        string
	Version    string
	Assets     []string
	AssetsJSON string
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // a []string always marshals
	}
	return string(b)
}

// contentSecurityPolicy is the app's policy: no inline script or style,
// scripts only from the app's origin, and WebAssembly compilation
// ('wasm-unsafe-eval', which allows no JavaScript eval). The wallet talks
// to issuers and verifiers anywhere, over https; the registry, when it is
// named, may also be plain http (a demo on a laptop). header adds what a
// <meta> policy cannot carry.
func contentSecurityPolicy(registry string, header bool) string {
	connect := "'self' https:"
	if u, err := url.Parse(registry); err == nil && u.Scheme == "http" && u.Host != "" {
		connect += " " + u.Scheme + "://" + u.Host
	}
	p := "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob: https:; " +
		"media-src 'self' blob:; connect-src " + connect + "; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'"
	if header {
		p += "; frame-ancestors 'none'"
	}
	return p
}

func (a *App) add(name string, body, gz []byte, cache string) {
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".webmanifest":
		ctype = "application/manifest+json"
	case ".wasm":
		ctype = "application/wasm"
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	}
	sum := sha256.Sum256(body)
	f := &file{name: name, body: body, ctype: ctype, cache: cache, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	switch {
	case gz != nil:
		f.gzip = func() []byte { return gz }
	case !strings.HasPrefix(ctype, "image/png"):
		f.gzip = sync.OnceValue(func() []byte { return compress(body) })
	default:
		f.gzip = func() []byte { return nil }
	}
	a.files[name] = f
}

// HasEngine reports whether the WebAssembly engine is in the app. Without
// it the page says how to build it.
func (a *App) HasEngine() bool { return a.hasWASM }

// Handler serves the app. Paths are relative to where it is mounted
// (strip the prefix, e.g. /wallet/, before calling it).
func (a *App) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		f, ok := a.files[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.ctype)
		h.Set("Cache-Control", f.cache)
		h.Set("ETag", f.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.HasPrefix(f.ctype, "text/html") {
			h.Set("Content-Security-Policy", contentSecurityPolicy(a.registry, true))
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Permissions-Policy", "camera=(self)")
		}
		if f.name == "sw.js" {
			h.Set("Service-Worker-Allowed", "./")
		}
		if match := r.Header.Get("If-None-Match"); match != "" && match == f.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		body := f.body
		if !strings.HasPrefix(f.ctype, "image/") {
			h.Add("Vary", "Accept-Encoding")
			if gz := f.gzip(); gz != nil && acceptsGzip(r) {
				h.Set("Content-Encoding", "gzip")
				body = gz
			}
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(body)
	})
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// Export writes the app as static files into dir, ready for any web
// server: hashed assets may be cached forever, index.html, sw.js and
// manifest.webmanifest must be revalidated (see docs/wallet-app.md).
func (a *App) Export(dir string) error {
	if !a.hasWASM {
		return ErrNoEngine
	}
	for name, f := range a.files {
		if name == "" {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, f.body, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ErrNoEngine is returned by Export when the WebAssembly engine was not
// built into the app.
var ErrNoEngine = errors.New("walletapp: tong-wallet.wasm is not built: run `make wallet-wasm` and build tong again")

// Size is the app's first load: every file the page fetches, raw and as
// served with gzip.
type Size struct {
	Files          int
	Raw, Gzip      int64
	WASM, WASMGzip int64
}

// FirstLoad sums the files of the first visit (the page, the manifest,
// the service worker and every precached asset).
func (a *App) FirstLoad() Size {
	var s Size
	for name, f := range a.files {
		if name == "" {
			continue
		}
		s.Files++
		s.Raw += int64(len(f.body))
		gz := int64(len(f.body))
		if z := f.gzip(); z != nil {
			gz = int64(len(z))
		}
		s.Gzip += gz
		if strings.HasSuffix(name, ".wasm") {
			s.WASM, s.WASMGzip = int64(len(f.body)), gz
		}
	}
	return s
}
