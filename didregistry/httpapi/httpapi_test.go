package httpapi

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/didregistry/store"
	istore "github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/sqlitedb"
)

func newAPI(tb testing.TB, n int) (*API, []string) {
	tb.Helper()
	db, err := sqlitedb.Open(tb.Context(), filepath.Join(tb.TempDir(), "r.db"), istore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	signer, vkey, _ := didregistry.NewNoteSigner("tong.test/registry", logKey)
	l, err := store.Open(tb.Context(), store.Config{DB: db, Origin: "tong.test/registry", Signer: signer})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close(); db.Close() })
	var ids []string
	for range n {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		mk, _ := did.EncodeMultikey(&k.PublicKey)
		id := didregistry.PlaceholderDID
		doc := &did.Document{Context: []any{did.ContextV1}, ID: id,
			VerificationMethods: []did.VerificationMethod{{ID: id + "#key-1", Type: "Multikey", Controller: id, PublicKeyMultibase: mk}}}
		op, err := didregistry.NewGenesis(k, doc, []crypto.PublicKey{&k.PublicKey}, nil, time.Now().Add(-time.Minute))
		if err != nil {
			tb.Fatal(err)
		}
		leaf, _ := op.Canonical()
		if _, err := l.Append(tb.Context(), leaf); err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, op.DID)
	}
	a, err := New(Config{Log: l, Origin: "tong.test/registry", VerifierKey: vkey})
	if err != nil {
		tb.Fatal(err)
	}
	return a, ids
}

func TestPostOperationErrors(t *testing.T) {
	t.Parallel()
	a, ids := newAPI(t, 1)
	h := a.Routes()
	for _, tc := range []struct {
		name, body, ctype string
		status            int
		code              string
	}{
		{"not JSON", "{", "application/json", 400, "invalid_operation"},
		{"unknown member", `{"type":"create","x":1}`, "application/json", 400, "invalid_operation"},
		{"unsigned", `{"did":"` + ids[0] + `","prev":"zX","seq":2,"type":"update","versionTime":"2026-01-01T00:00:00Z"}`, "application/json", 403, "invalid_signature"},
		{"too large", `{"type":"` + strings.Repeat("a", MaxOperationBody) + `"}`, "application/json", 413, "request_too_large"},
	} {
		req := httptest.NewRequest(http.MethodPost, "/registry/operations", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", tc.ctype)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), `"`+tc.code+`"`) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, rec.Code, rec.Body, tc.status, tc.code)
		}
	}
}

func TestParseTilePath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		level   int
		n       int64
		w       int
		entries bool
		ok      bool
	}{
		{"0/000", 0, 0, 256, false, true},
		{"1/x001/x234/067", 1, 1234067, 256, false, true},
		{"0/005.p/17", 0, 5, 17, false, true},
		{"entries/x001/000", 0, 1000, 256, true, true},
		{"0/5", 0, 0, 0, false, false},
		{"0/x000/005", 0, 0, 0, false, false},
		{"0/005.p/256", 0, 0, 0, false, false},
		{"01/000", 0, 0, 0, false, false},
		{"0/001/002", 0, 0, 0, false, false},
		{"0/x001/x002/x003/x004/x005/x006/007", 0, 0, 0, false, false},
	} {
		l, n, w, e, err := parseTilePath(tc.in)
		if (err == nil) != tc.ok || (tc.ok && (l != tc.level || n != tc.n || w != tc.w || e != tc.entries)) {
			t.Errorf("parseTilePath(%q) = %d %d %d %v %v, want %d %d %d %v ok=%v", tc.in, l, n, w, e, err, tc.level, tc.n, tc.w, tc.entries, tc.ok)
		}
	}
}

// An inclusion proof at 10^9 entries has ceil(log2(10^9)) = 30 hashes:
// 960 bytes, under 1 KB.
func TestInclusionProofSizeAtBillion(t *testing.T) {
	t.Parallel()
	zero := tlog.HashReaderFunc(func(ids []int64) ([]tlog.Hash, error) { return make([]tlog.Hash, len(ids)), nil })
	const n = 1_000_000_000
	for _, idx := range []int64{0, n / 2, n - 1} {
		p, err := tlog.ProveRecord(n, idx, zero)
		if err != nil {
			t.Fatal(err)
		}
		if size := len(p) * tlog.HashSize; size > 1024 {
			t.Errorf("proof for %d in %d: %d bytes, want ≤ 1024", idx, n, size)
		}
	}
}

// Resolution with proof from a warm cache (the registry's hot read path).
func BenchmarkResolveWarm(b *testing.B) {
	a, ids := newAPI(b, 32)
	h := a.Routes()
	req := httptest.NewRequest(http.MethodGet, "/1.0/identifiers/"+ids[7], nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		b.Fatalf("status %d", rec.Code)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/1.0/identifiers/"+ids[7], nil))
			if rec.Code != 200 {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}

// Resolution with proof when the cache is cold (a new checkpoint).
func BenchmarkResolveCold(b *testing.B) {
	a, ids := newAPI(b, 32)
	h := a.Routes()
	for b.Loop() {
		a.cache.Purge()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/1.0/identifiers/"+ids[7], nil))
		if rec.Code != 200 {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// parseTilePath never panics, and what it accepts is in range: N below
// 10^18 (no overflow when shifted into the tree), W in 1..256.
func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{"0/000", "1/x001/x234/067", "0/005.p/17", "entries/x001/000", "7/x072/x057/x594/x037/x927/936.p/1", "entries/x009/x223/x372/x036/x854/x775/807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		level, n, w, _, err := parseTilePath(p)
		if err != nil {
			return
		}
		if n < 0 || n >= 1e18 || w < 1 || w > 1<<TileHeight || level < 0 || level > 63/TileHeight {
			t.Errorf("parseTilePath(%q) = %d %d %d, out of range", p, level, n, w)
		}
	})
}

// TestCORSPublicReadsOnly: a wallet hosted on another origin can read
// every public endpoint (resolution, info, issuers, a DID's log and
// accreditations, checkpoint, key, proofs, tiles), preflight included,
// while the write endpoint stays same-origin: no CORS header, and its
// preflight is refused.
func TestCORSPublicReadsOnly(t *testing.T) {
	t.Parallel()
	a, ids := newAPI(t, 2)
	h := a.Routes()
	const origin = "https://wallet.example"
	do := func(method, path string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Origin", origin)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for _, path := range []string{"/1.0/identifiers/" + ids[0], "/registry/info", "/registry/issuers?url=https://x.example",
		"/dids/" + ids[0] + "/log", "/dids/" + ids[0] + "/accreditations", "/log/checkpoint", "/log/key",
		"/log/proof/consistency?old=1&new=2", "/log/tile/0/000.p/2"} {
		rec := do(http.MethodGet, path, nil)
		if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s (%d): Access-Control-Allow-Origin = %q, want *", path, rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
		}
		pre := do(http.MethodOptions, path, map[string]string{"Access-Control-Request-Method": "GET"})
		if pre.Code != http.StatusNoContent || pre.Header().Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(pre.Header().Get("Access-Control-Allow-Methods"), "GET") {
			t.Errorf("preflight GET %s = %d %v, want 204 allowing GET from *", path, pre.Code, pre.Header())
		}
	}
	w := do(http.MethodPost, "/registry/operations", map[string]string{"Content-Type": "application/json"})
	pre := do(http.MethodOptions, "/registry/operations", map[string]string{"Access-Control-Request-Method": "POST"})
	for _, rec := range []*httptest.ResponseRecorder{w, pre} {
		if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("/registry/operations (%d): Access-Control-Allow-Origin = %q, want none", rec.Code, got)
		}
	}
	if pre.Code < 400 {
		t.Errorf("preflight of POST /registry/operations = %d, want refused", pre.Code)
	}
}

// The registry's store serves every group of routes.
var _ Log = (*store.Log)(nil)
