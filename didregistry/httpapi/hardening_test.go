package httpapi

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/didregistry/store"
	istore "github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/sqlitedb"
)

// city is a registry with a trust authority behind the real HTTP server.
type city struct {
	t       *testing.T
	srv     *httptest.Server
	api     *API
	log     *store.Log
	db      *istore.DB
	origin  string
	vkey    string
	rules   didregistry.Rules
	authKey *ecdsa.PrivateKey
	auth    string

	mu  sync.Mutex
	now time.Time
}

func newCity(t *testing.T) *city {
	t.Helper()
	c := &city{t: t, origin: "tong.test/registry", now: time.Now().Add(-time.Hour)}
	c.authKey = newP256(t)
	ta := c.genesis(c.authKey, "")
	c.auth = ta.DID
	db, err := sqlitedb.Open(t.Context(), filepath.Join(t.TempDir(), "r.db"), istore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	signer, vkey, _ := didregistry.NewNoteSigner(c.origin, logKey)
	c.rules = didregistry.Rules{TrustAuthority: c.auth}
	l, err := store.Open(t.Context(), store.Config{DB: db, Origin: c.origin, Signer: signer, Rules: c.rules})
	if err != nil {
		t.Fatal(err)
	}
	c.log, c.db, c.vkey = l, db, vkey
	if c.api, err = New(Config{Log: l, Origin: c.origin, VerifierKey: vkey, TrustAuthority: c.auth}); err != nil {
		t.Fatal(err)
	}
	c.srv = httptest.NewServer(c.api.Routes())
	t.Cleanup(func() { c.srv.Close(); l.Close(); db.Close() })
	c.mustPost(ta)
	return c
}

func newP256(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (c *city) tick() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

// genesis builds (but does not post) a create whose document names
// issuerURL, if not empty.
func (c *city) genesis(key *ecdsa.PrivateKey, issuerURL string) *didregistry.Operation {
	c.t.Helper()
	return c.genesisDoc(key, func(d *did.Document) {
		if issuerURL != "" {
			d.Service = []did.Service{{ID: d.ID + "#oid4vci", Type: []string{didregistry.ServiceTypeCredentialIssuer}, ServiceEndpoint: issuerURL}}
		}
	})
}

func (c *city) genesisDoc(key *ecdsa.PrivateKey, edit func(*did.Document)) *didregistry.Operation {
	c.t.Helper()
	mk, _ := did.EncodeMultikey(&key.PublicKey)
	id := didregistry.PlaceholderDID
	d := &did.Document{Context: []any{did.ContextV1}, ID: id,
		VerificationMethods: []did.VerificationMethod{{ID: id + "#key-1", Type: "Multikey", Controller: id, PublicKeyMultibase: mk}},
		AssertionMethod:     []did.VerificationRef{{Ref: "#key-1"}}}
	if edit != nil {
		edit(d)
	}
	op, err := didregistry.NewGenesis(key, d, []crypto.PublicKey{&key.PublicKey}, nil, c.tick())
	if err != nil {
		c.t.Fatal(err)
	}
	return op
}

// post sends raw bytes to POST /registry/operations.
func (c *city) postRaw(body []byte) (int, map[string]any) {
	c.t.Helper()
	resp, err := c.srv.Client().Post(c.srv.URL+"/registry/operations", "application/json", bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func (c *city) post(op *didregistry.Operation) (int, map[string]any) {
	c.t.Helper()
	leaf, err := op.Canonical()
	if err != nil {
		c.t.Fatal(err)
	}
	return c.postRaw(leaf)
}

func (c *city) mustPost(op *didregistry.Operation) {
	c.t.Helper()
	if status, body := c.post(op); status != http.StatusCreated {
		c.t.Fatalf("POST %s of %s = %d %v, want 201", op.Type, op.DID, status, body)
	}
}

func (c *city) head(id string) *didregistry.State {
	c.t.Helper()
	s, err := c.log.State(c.t.Context(), id)
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

// update builds a signed update of id (controlled by key) whose document
// names issuerURL.
func (c *city) update(key *ecdsa.PrivateKey, id, issuerURL string) *didregistry.Operation {
	c.t.Helper()
	h := c.head(id)
	var d did.Document
	if err := json.Unmarshal(h.Document, &d); err != nil {
		c.t.Fatal(err)
	}
	d.Service = []did.Service{{ID: id + "#oid4vci", Type: []string{didregistry.ServiceTypeCredentialIssuer}, ServiceEndpoint: issuerURL}}
	op := didregistry.Next(h, didregistry.OpUpdate, c.tick())
	op.Document, _ = json.Marshal(&d)
	if err := op.Sign(key); err != nil {
		c.t.Fatal(err)
	}
	return op
}

// accredit builds the trust authority's accreditation of subject as an
// issuer, binding credentialIssuer if it is not empty.
func (c *city) accredit(subject, credentialIssuer string) *didregistry.Operation {
	c.t.Helper()
	op := didregistry.Next(c.head(c.auth), didregistry.OpAccredit, c.tick())
	op.Accreditation = &didregistry.Accreditation{Subject: subject, Role: didregistry.RoleIssuer,
		Scope: []string{"urn:tong:vct:test:1"}, ValidFrom: didregistry.FormatTime(c.now.Add(-time.Hour)), CredentialIssuer: credentialIssuer}
	if err := op.Sign(c.authKey); err != nil {
		c.t.Fatal(err)
	}
	return op
}

func (c *city) get(path string) (*http.Response, []byte) {
	c.t.Helper()
	resp, err := c.srv.Client().Get(c.srv.URL + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (c *city) issuerOf(u string) (int, string) {
	c.t.Helper()
	resp, body := c.get("/registry/issuers?url=" + url.QueryEscape(u))
	var m struct {
		DID string `json:"did"`
	}
	json.Unmarshal(body, &m)
	return resp.StatusCode, m.DID
}

// Issue 16 item 1: a create whose document names an agency's issuer URL
// must not take the URL over; only the trust authority binds URLs.
func TestIssuerURLHijackRefused(t *testing.T) {
	t.Parallel()
	c := newCity(t)
	const iss = "https://tong.test/issuers/psb"
	agencyKey := newP256(t)
	agency := c.genesis(agencyKey, iss)
	c.mustPost(agency)
	c.mustPost(c.accredit(agency.DID, iss))
	if status, got := c.issuerOf(iss); status != http.StatusOK || got != agency.DID {
		t.Fatalf("GET /registry/issuers = %d %q, want 200 %s", status, got, agency.DID)
	}

	// The attacker's create names the taken URL (with and without a
	// trailing slash).
	for _, u := range []string{iss, iss + "/"} {
		status, body := c.post(c.genesis(newP256(t), u))
		if status != http.StatusConflict || body["error"] != string(didregistry.CodeIssuerURLTaken) {
			t.Errorf("hostile create naming %s = %d %v, want 409 %s", u, status, body, didregistry.CodeIssuerURLTaken)
		}
	}
	// Nor can an existing DID take it with an update.
	otherKey := newP256(t)
	other := c.genesis(otherKey, "")
	c.mustPost(other)
	if status, body := c.post(c.update(otherKey, other.DID, iss)); status != http.StatusConflict || body["error"] != string(didregistry.CodeIssuerURLTaken) {
		t.Errorf("hostile update naming %s = %d %v, want 409 %s", iss, status, body, didregistry.CodeIssuerURLTaken)
	}
	if status, got := c.issuerOf(iss); status != http.StatusOK || got != agency.DID {
		t.Errorf("after the attacks GET /registry/issuers = %d %q, want 200 %s", status, got, agency.DID)
	}

	// A document naming an unbound URL binds nothing.
	const fresh = "https://tong.test/issuers/new"
	squatter := c.genesis(newP256(t), fresh)
	c.mustPost(squatter)
	if status, got := c.issuerOf(fresh); status != http.StatusNotFound {
		t.Errorf("a document alone bound %s: %d %q, want 404", fresh, status, got)
	}
	// The trust authority binds it to the genuine agency, squatter or not.
	genuineKey := newP256(t)
	genuine := c.genesis(genuineKey, fresh)
	c.mustPost(genuine)
	c.mustPost(c.accredit(genuine.DID, fresh))
	if status, got := c.issuerOf(fresh); status != http.StatusOK || got != genuine.DID {
		t.Errorf("after the accreditation GET /registry/issuers = %d %q, want 200 %s", status, got, genuine.DID)
	}
	// Only the trust authority rebinds: it moves psb's URL to the new agency.
	c.mustPost(c.accredit(genuine.DID, iss))
	if status, got := c.issuerOf(iss); status != http.StatusOK || got != genuine.DID {
		t.Errorf("after the rebinding GET /registry/issuers = %d %q, want 200 %s", status, got, genuine.DID)
	}
	// An accreditation binds only an http(s) URL, and only for an issuer.
	bad := c.accredit(genuine.DID, "ftp://tong.test/x")
	if status, body := c.post(bad); status != http.StatusBadRequest || body["error"] != string(didregistry.CodeInvalidOperation) {
		t.Errorf("accreditation binding ftp URL = %d %v, want 400 invalid_operation", status, body)
	}

	// tong registry verify recomputes the binding from the log.
	if _, err := store.Verify(t.Context(), c.db, c.rules, c.origin, mustVerifier(t, c.vkey), nil); err != nil {
		t.Fatalf("Verify = %v", err)
	}
	if _, err := c.db.Writer().ExecContext(t.Context(), `UPDATE registry_issuer_urls SET did = $1 WHERE url = $2`, squatter.DID, fresh); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Verify(t.Context(), c.db, c.rules, c.origin, mustVerifier(t, c.vkey), nil); err == nil {
		t.Errorf("Verify after tampering with registry_issuer_urls succeeded")
	}
}

func mustVerifier(t *testing.T, vkey string) note.Verifier {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Issue 16 item 9: every operation has one byte form. A body that is not
// the operation's JCS form, or that repeats a member, is refused; so is
// one whose member the decoder would have dropped.
func TestNonCanonicalOperationRefused(t *testing.T) {
	t.Parallel()
	c := newCity(t)
	op := c.genesis(newP256(t), "")
	leaf, _ := op.Canonical()
	spaced := bytes.Replace(leaf, []byte(`"seq":1`), []byte(`"seq": 1`), 1)
	reordered := append([]byte(`{"type":"create",`), bytes.Replace(leaf[1:], []byte(`,"type":"create"`), nil, 1)...)
	dup := bytes.Replace(leaf, []byte(`"seq":1`), []byte(`"seq":1,"seq":1`), 1)
	dupDoc := bytes.Replace(leaf, []byte(`"document":{`), []byte(`"document":{"id":"did:tong:zEvil",`), 1)
	for _, tc := range []struct {
		name string
		body []byte
		code string
	}{
		{"whitespace", spaced, string(didregistry.CodeNotCanonical)},
		{"member order", reordered, string(didregistry.CodeNotCanonical)},
		{"trailing newline", append(bytes.Clone(leaf), '\n'), string(didregistry.CodeNotCanonical)},
		{"escaped character", bytes.Replace(leaf, []byte(`"create"`), []byte(`"cr\u0065ate"`), 1), string(didregistry.CodeNotCanonical)},
		{"repeated member", dup, string(didregistry.CodeNotCanonical)},
		{"repeated member in the document", dupDoc, string(didregistry.CodeNotCanonical)},
		{"not JSON", []byte("{"), string(didregistry.CodeInvalidOperation)},
	} {
		if bytes.Equal(tc.body, leaf) {
			t.Fatalf("%s: the mangled body equals the leaf", tc.name)
		}
		status, body := c.postRaw(tc.body)
		if status != http.StatusBadRequest || body["error"] != tc.code {
			t.Errorf("%s: POST = %d %v, want 400 %s", tc.name, status, body, tc.code)
		}
	}
	if status, body := c.postRaw(leaf); status != http.StatusCreated {
		t.Errorf("canonical POST = %d %v, want 201", status, body)
	}
}

// Issue 18: DID Resolution's HTTP binding percent-encodes the DID in the
// path, as Universal Resolver clients send it.
func TestResolvePercentEncodedDID(t *testing.T) {
	t.Parallel()
	c := newCity(t)
	op := c.genesis(newP256(t), "")
	c.mustPost(op)
	enc := strings.ReplaceAll(op.DID, ":", "%3A")
	for _, path := range []string{"/1.0/identifiers/" + enc, "/1.0/identifiers/" + url.PathEscape(op.DID), "/1.0/identifiers/" + op.DID} {
		resp, body := c.get(path)
		var res struct {
			Document struct {
				ID string `json:"id"`
			} `json:"didDocument"`
		}
		json.Unmarshal(body, &res)
		if resp.StatusCode != http.StatusOK || res.Document.ID != op.DID {
			t.Errorf("GET %s = %d %s, want 200 with id %s", path, resp.StatusCode, body, op.DID)
		}
	}
	for _, path := range []string{"/dids/" + enc + "/log", "/dids/" + enc + "/accreditations"} {
		if resp, body := c.get(path); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d %s, want 200", path, resp.StatusCode, body)
		}
	}
	// Unescaping happens once: a doubly encoded DID is not a DID.
	if resp, body := c.get("/1.0/identifiers/" + strings.ReplaceAll(op.DID, ":", "%253A")); resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "INVALID_DID") {
		t.Errorf("GET doubly encoded = %d %s, want 400 INVALID_DID", resp.StatusCode, body)
	}
}

// Issue 16 item 7: tile numbers whose arithmetic overflows int64 named
// entry 0 and were served (and cached for a year). A tile beyond the tree
// is a 404; only full tiles are immutable.
func TestTileBeyondTreeIs404(t *testing.T) {
	t.Parallel()
	c := newCity(t)
	var wg sync.WaitGroup
	for range 299 { // 300 entries with the authority's genesis
		op := c.genesis(newP256(t), "")
		leaf, _ := op.Canonical()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.log.Append(t.Context(), leaf); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// 2^56 = 72057594037927936: shifted left by 8 it wraps to 0.
	const wrap = "x072/x057/x594/x037/x927/936"
	for _, path := range []string{
		"/log/tile/entries/" + wrap + ".p/1",
		"/log/tile/0/" + wrap + ".p/1",
		"/log/tile/1/" + wrap,
		"/log/tile/entries/x009/x223/x372/x036/x854/x775/807",
		"/log/tile/2/000",
		"/log/tile/7/x001/000",
		"/log/tile/0/002",
		"/log/tile/0/001.p/45",
		"/log/tile/entries/001",
		"/log/tile/entries/002.p/1",
	} {
		resp, body := c.get(path)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d (%d bytes, Cache-Control %q), want 404", path, resp.StatusCode, len(body), resp.Header.Get("Cache-Control"))
		}
	}
	for _, tc := range []struct {
		path      string
		immutable bool
		size      int
	}{
		{"/log/tile/0/000", true, 256 * 32},
		{"/log/tile/0/001.p/44", false, 44 * 32},
		{"/log/tile/1/000.p/1", false, 32},
		{"/log/tile/entries/000", true, -1},
		{"/log/tile/entries/001.p/44", false, -1},
	} {
		resp, body := c.get(tc.path)
		cc := resp.Header.Get("Cache-Control")
		if resp.StatusCode != http.StatusOK || strings.Contains(cc, "immutable") != tc.immutable || (tc.size >= 0 && len(body) != tc.size) {
			t.Errorf("GET %s = %d, %d bytes, Cache-Control %q; want 200, immutable=%v, %d bytes", tc.path, resp.StatusCode, len(body), cc, tc.immutable, tc.size)
		}
	}
}

// Issue 16 item 3: the resolution cache was keyed by the raw query, so
// each distinct versionTime added an entry (1.2 GB was reached). It is
// keyed by what was resolved, and bounded by bytes.
func TestResolutionCacheKeyedByVersion(t *testing.T) {
	t.Parallel()
	c := newCity(t)
	key := newP256(t)
	op := c.genesis(key, "")
	c.mustPost(op)
	c.mustPost(c.update(key, op.DID, "https://tong.test/issuers/x"))
	created := c.head(op.DID).Created
	for i := range 200 {
		// Every time from one second after the genesis selects version 1
		// or 2: 200 distinct queries, two versions.
		vt := created.Add(time.Duration(i) * time.Millisecond * 10).UTC().Format(time.RFC3339Nano)
		resp, body := c.get("/1.0/identifiers/" + op.DID + "?versionTime=" + url.QueryEscape(vt))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET versionTime=%s = %d %s", vt, resp.StatusCode, body)
		}
	}
	e, ok := c.api.cache.Get(op.DID)
	if n := c.api.cache.Len(); n != 1 || !ok {
		t.Fatalf("after 200 versionTime queries the cache has %d entries, want 1", n)
	}
	e.mu.Lock()
	bodies := len(e.bodies)
	e.mu.Unlock()
	if bodies > 2 {
		t.Errorf("the DID's entry holds %d bodies, want at most 2 (one per version)", bodies)
	}
}

// Every resolution cache entry counts against a byte bound, whatever the
// number of DIDs resolved.
func TestResolutionCacheBoundedByBytes(t *testing.T) {
	t.Parallel()
	c := newCity(t)
	const bound = 64 << 10
	api, err := New(Config{Log: c.log, Origin: c.origin, VerifierKey: c.vkey, TrustAuthority: c.auth, CacheBytes: bound})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Routes())
	defer srv.Close()
	// Documents of about 8 KiB each: 40 of them are five times the bound.
	for range 40 {
		op := c.genesisDoc(newP256(t), func(d *did.Document) {
			for i := range 8 {
				d.Service = append(d.Service, did.Service{ID: fmt.Sprintf("%s#pad-%d", d.ID, i), Type: []string{"Padding"}, ServiceEndpoint: "https://tong.test/" + strings.Repeat("p", 1000)})
			}
		})
		c.mustPost(op)
		resp, err := srv.Client().Get(srv.URL + "/1.0/identifiers/" + op.DID)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("resolve = %d", resp.StatusCode)
		}
		if got := api.cache.Bytes(); got > bound {
			t.Fatalf("cache holds %d bytes, bound %d", got, bound)
		}
	}
	if api.cache.Len() == 0 || api.cache.Len() >= 40 {
		t.Errorf("cache has %d entries, want some but not all 40", api.cache.Len())
	}
}

// readWatch is the registry's log, recording the most operations or leaves
// any one read asked for (and any read of a whole chain, which the API no
// longer needs).
type readWatch struct {
	*store.Log
	mu       sync.Mutex
	maxRead  int
	wholeDID []string // DIDs whose whole chain was read at once
}

func (rw *readWatch) saw(n int) {
	rw.mu.Lock()
	rw.maxRead = max(rw.maxRead, n)
	rw.mu.Unlock()
}

func (rw *readWatch) Chain(ctx context.Context, id string) ([]didregistry.Entry, error) {
	rw.mu.Lock()
	rw.wholeDID = append(rw.wholeDID, id)
	rw.mu.Unlock()
	return rw.Log.Chain(ctx, id)
}

func (rw *readWatch) ChainPage(ctx context.Context, id string, after int64, limit int) ([]didregistry.Entry, error) {
	rw.saw(limit)
	return rw.Log.ChainPage(ctx, id, after, limit)
}

func (rw *readWatch) Leaves(ctx context.Context, start, end int64) ([][]byte, error) {
	rw.saw(int(end - start))
	return rw.Log.Leaves(ctx, start, end)
}

// Issue 16 item 2 (the registry's part): large bodies are streamed. An
// entry bundle (up to 256 leaves of 60 KiB) and a DID's chain (the trust
// authority's grows with every accreditation) are read and written a page
// at a time, never held whole.
func TestLargeBodiesStreamed(t *testing.T) {
	t.Parallel()
	c := newCity(t)
	key := newP256(t)
	op := c.genesis(key, "")
	c.mustPost(op)
	var wg sync.WaitGroup
	for range 255 {
		g := c.genesis(newP256(t), "")
		leaf, _ := g.Canonical()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.log.Append(t.Context(), leaf); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range 70 {
		c.mustPost(c.update(key, op.DID, fmt.Sprintf("https://tong.test/issuers/v%d", i)))
	}
	rw := &readWatch{Log: c.log}
	api, err := New(Config{Log: rw, Origin: c.origin, VerifierKey: c.vkey, TrustAuthority: c.auth})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Routes())
	defer srv.Close()
	get := func(path string) []byte {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, resp.StatusCode, b)
		}
		return b
	}
	bundle := get("/log/tile/entries/000")
	leaves, _ := c.log.Leaves(t.Context(), 0, 256)
	var want []byte
	for _, l := range leaves {
		want = append(want, byte(len(l)>>8), byte(len(l)))
		want = append(want, l...)
	}
	if !bytes.Equal(bundle, want) {
		t.Errorf("entry bundle 000 is %d bytes, not the %d of the 256 leaves", len(bundle), len(want))
	}
	var chain ChainResponse
	if err := json.Unmarshal(get("/dids/"+op.DID+"/log"), &chain); err != nil {
		t.Fatal(err)
	}
	if chain.DID != op.DID || len(chain.Entries) != 71 || chain.Checkpoint == "" {
		t.Fatalf("chain of %s: %d entries, want 71", chain.DID, len(chain.Entries))
	}
	cp, err := didregistry.OpenCheckpoint([]byte(chain.Checkpoint), c.origin, mustVerifier(t, c.vkey))
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range chain.Entries {
		proof := make(tlog.RecordProof, len(e.InclusionProof))
		for k, h := range e.InclusionProof {
			b, _ := base64.StdEncoding.DecodeString(h)
			copy(proof[k][:], b)
		}
		if err := tlog.CheckRecord(proof, cp.Size, cp.Hash, e.LogIndex, tlog.RecordHash(e.Operation)); err != nil {
			t.Errorf("entry %d (log index %d): %v", i, e.LogIndex, err)
		}
	}
	// Resolution replays the chain a page at a time too, and reads an
	// older version's document back from its leaf.
	for _, tc := range []struct{ query, endpoint string }{
		{"", "https://tong.test/issuers/v69"},
		{"?versionId=" + url.QueryEscape(didregistry.VersionID(5, didregistry.EntryHash(chain.Entries[4].Operation))), "https://tong.test/issuers/v3"},
		{"?versionId=" + url.QueryEscape(didregistry.VersionID(1, didregistry.EntryHash(chain.Entries[0].Operation))), ""},
	} {
		var res struct {
			Document did.Document `json:"didDocument"`
		}
		if err := json.Unmarshal(get("/1.0/identifiers/"+op.DID+tc.query), &res); err != nil {
			t.Fatal(err)
		}
		got := ""
		if len(res.Document.Service) > 0 {
			got, _ = res.Document.Service[0].ServiceEndpoint.(string)
		}
		if res.Document.ID != op.DID || got != tc.endpoint {
			t.Errorf("resolve%s: document %s with endpoint %q, want %q", tc.query, res.Document.ID, got, tc.endpoint)
		}
	}
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.maxRead > 32 || len(rw.wholeDID) > 0 {
		t.Errorf("one read asked for %d leaves or operations (want ≤ 32); whole chains read: %v", rw.maxRead, rw.wholeDID)
	}
}

// Beyond issue 16's list: each issuer URL a document names costs the
// sequencer a lookup inside the commit that every writer waits for, so a
// document may name at most MaxIssuerURLs.
func TestTooManyIssuerURLsRefused(t *testing.T) {
	t.Parallel()
	c := newCity(t)
	op := c.genesisDoc(newP256(t), func(d *did.Document) {
		for i := range didregistry.MaxIssuerURLs + 1 {
			d.Service = append(d.Service, did.Service{ID: fmt.Sprintf("%s#oid4vci-%d", d.ID, i), Type: []string{didregistry.ServiceTypeCredentialIssuer},
				ServiceEndpoint: fmt.Sprintf("https://tong.test/issuers/%d", i)})
		}
	})
	if status, body := c.post(op); status != http.StatusBadRequest || body["error"] != string(didregistry.CodeInvalidOperation) {
		t.Errorf("create naming %d issuer URLs = %d %v, want 400 invalid_operation", didregistry.MaxIssuerURLs+1, status, body)
	}
}
