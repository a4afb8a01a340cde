package did

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// tongLike is a stand-in for the did:tong registry resolver: it serves one
// document with versions, metadata and a log proof, and can be deactivated.
type tongLike struct {
	doc         *Document
	deactivated bool
	calls       atomic.Int32
	lastOpts    ResolveOptions
	mu          sync.Mutex
}

const tongProof = `{"logIndex":42,"checkpoint":"tong.city.example/log\n43\nq2Xh…=\n","inclusionProof":["aGFzaDE=","aGFzaDI="]}`

func (r *tongLike) Resolve(ctx context.Context, did string, opts ResolveOptions) (*Result, error) {
	r.calls.Add(1)
	r.mu.Lock()
	r.lastOpts = opts
	r.mu.Unlock()
	if did != r.doc.ID {
		return nil, &Error{Code: CodeNotFound}
	}
	md := DocumentMetadata{
		Created:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Updated:   time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC),
		VersionID: "2-bafyhash",
		Proof:     []json.RawMessage{json.RawMessage(tongProof)},
	}
	if opts.VersionID == "1-bafyold" {
		md.VersionID, md.NextVersionID, md.Updated = "1-bafyold", "2-bafyhash", time.Time{}
	}
	if r.deactivated {
		md.Deactivated = true
		return &Result{DocumentMetadata: md}, &Error{Code: CodeDeactivated, Description: "deactivated at version 3"}
	}
	return &Result{Document: r.doc.Clone(), DocumentMetadata: md, ResolutionMetadata: ResolutionMetadata{ContentType: MediaTypeDID}}, nil
}

func newTongLike(t *testing.T) (*tongLike, crypto.PublicKey) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	mb, _ := EncodeMultikey(&k.PublicKey)
	const id = "did:tong:zQmAgency1"
	doc := &Document{
		Context:             []any{ContextV1_1},
		ID:                  id,
		VerificationMethods: []VerificationMethod{{ID: "#key-1", Type: TypeMultikey, Controller: id, PublicKeyMultibase: mb}},
		AssertionMethod:     []VerificationRef{{Ref: "#key-1"}},
	}
	if err := doc.Validate(); err != nil {
		t.Fatal(err)
	}
	return &tongLike{doc: doc}, &k.PublicKey
}

func TestResolveKey(t *testing.T) {
	t.Parallel()
	tong, pub := newTongLike(t)
	m, err := NewMulti(map[string]Resolver{"key": KeyResolver{}, "jwk": JWKResolver{}, "tong": tong})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ResolveKey(t.Context(), m, "did:tong:zQmAgency1#key-1", AssertionMethod)
	if err != nil || !got.(*ecdsa.PublicKey).Equal(pub) {
		t.Fatalf("ResolveKey = %v, %v", got, err)
	}
	if _, err := ResolveKey(t.Context(), m, "did:tong:zQmAgency1?versionId=1-bafyold#key-1", AssertionMethod); err != nil {
		t.Fatal(err)
	}
	if tong.lastOpts.VersionID != "1-bafyold" {
		t.Errorf("versionId did not reach the resolver: %+v", tong.lastOpts)
	}
	vt := "2026-03-01T00:00:00Z"
	if _, err := ResolveKey(t.Context(), m, "did:tong:zQmAgency1?versionTime="+vt+"#key-1", AssertionMethod); err != nil {
		t.Fatal(err)
	}
	if tong.lastOpts.VersionTime.Format(time.RFC3339) != vt {
		t.Errorf("versionTime did not reach the resolver: %+v", tong.lastOpts)
	}
	edDID := "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
	if _, err := ResolveKey(t.Context(), m, edDID+"#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", AssertionMethod); err != nil {
		t.Errorf("ResolveKey(did:key) = %v", err)
	}

	tests := []struct {
		kid  string
		rel  Relationship
		code Code
	}{
		{"did:tong:zQmAgency1#key-1", Authentication, CodeInvalidRelationshipForVerificationMethod},
		{"did:tong:zQmAgency1#key-9", AssertionMethod, CodeNotFound},
		{"did:tong:zQmAgency1", AssertionMethod, CodeInvalidDIDURL},
		{"did:tong:zQmAgency1/p#key-1", AssertionMethod, CodeInvalidDIDURL},
		{"did:tong:zQmAgency1?service=x#key-1", AssertionMethod, CodeInvalidDIDURL},
		{"did:tong:zQmAgency1?versionId=1&versionId=2#key-1", AssertionMethod, CodeInvalidDIDURL},
		{"did:tong:zQmAgency1?versionId=1&versionTime=2026-03-01T00:00:00Z#key-1", AssertionMethod, CodeInvalidDIDURL},
		{"did:tong:zQmAgency1?versionTime=yesterday#key-1", AssertionMethod, CodeInvalidDIDURL},
		{"#key-1", AssertionMethod, CodeInvalidDIDURL},
		{"did:tong:zQmOther#key-1", AssertionMethod, CodeNotFound},
		{"did:nope:1#k", AssertionMethod, CodeMethodNotSupported},
		{edDID + "#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", KeyAgreement, CodeInvalidRelationshipForVerificationMethod},
	}
	for _, tc := range tests {
		if _, err := ResolveKey(t.Context(), m, tc.kid, tc.rel); CodeOf(err) != tc.code {
			t.Errorf("ResolveKey(%q, %s) = %v, want %s", tc.kid, tc.rel, err, tc.code)
		}
	}

	tong.deactivated = true
	res, err := m.Resolve(t.Context(), "did:tong:zQmAgency1", ResolveOptions{})
	if CodeOf(err) != CodeDeactivated || res == nil || !res.DocumentMetadata.Deactivated {
		t.Errorf("Resolve(deactivated) = %+v, %v", res, err)
	}
	if _, err := ResolveKey(t.Context(), m, "did:tong:zQmAgency1#key-1", AssertionMethod); CodeOf(err) != CodeDeactivated {
		t.Errorf("ResolveKey(deactivated) = %v", err)
	}
	// A resolver that breaks the contract still fails closed.
	lying := ResolverFunc(func(ctx context.Context, did string, opts ResolveOptions) (*Result, error) {
		return &Result{DocumentMetadata: DocumentMetadata{Deactivated: true}}, nil
	})
	if _, err := ResolveKey(t.Context(), lying, "did:x:1#k", AssertionMethod); CodeOf(err) != CodeDeactivated {
		t.Errorf("ResolveKey(lying) = %v", err)
	}
	other := ResolverFunc(func(ctx context.Context, did string, opts ResolveOptions) (*Result, error) {
		return &Result{Document: &Document{ID: "did:x:2"}}, nil
	})
	if _, err := ResolveKey(t.Context(), other, "did:x:1#k", AssertionMethod); CodeOf(err) != CodeInvalidDIDDocument {
		t.Errorf("ResolveKey(other doc) = %v", err)
	}
}

func TestResultJSON(t *testing.T) {
	t.Parallel()
	tong, _ := newTongLike(t)
	res, err := tong.Resolve(t.Context(), "did:tong:zQmAgency1", ResolveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res.ResolutionMetadata.Extra = map[string]json.RawMessage{"retrieved": json.RawMessage(`"2026-11-24T15:00:00Z"`)}
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]map[string]any
	json.Unmarshal(out, &generic)
	md := generic["didDocumentMetadata"]
	if md["created"] != "2026-01-02T03:04:05Z" || md["versionId"] != "2-bafyhash" || md["updated"] != "2026-02-03T04:05:06Z" {
		t.Errorf("didDocumentMetadata = %v", md)
	}
	proof := md["proof"].([]any)[0].(map[string]any)
	if proof["logIndex"] != float64(42) || proof["checkpoint"] == nil || proof["inclusionProof"] == nil {
		t.Errorf("proof = %v", proof)
	}
	if generic["didResolutionMetadata"]["contentType"] != MediaTypeDID {
		t.Errorf("didResolutionMetadata = %v", generic["didResolutionMetadata"])
	}
	var back Result
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(res, &back); diff != "" {
		t.Errorf("Result round trip (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(res, res.Clone()); diff != "" {
		t.Errorf("Clone (-want +got):\n%s", diff)
	}

	// An error result, as the HTTP binding writes it.
	e := &Error{Code: CodeNotFound, Description: "no such DID"}
	errRes := Result{ResolutionMetadata: ResolutionMetadata{Error: ProblemOf(e)}}
	out, _ = json.Marshal(errRes)
	want := `{"didDocument":null,"didDocumentMetadata":{},"didResolutionMetadata":{"error":{"type":"https://www.w3.org/ns/did#NOT_FOUND","title":"NOT_FOUND","detail":"no such DID"}}}`
	if string(out) != want {
		t.Errorf("error result = %s\nwant %s", out, want)
	}
	var back2 Result
	if err := json.Unmarshal(out, &back2); err != nil || back2.ResolutionMetadata.Error.Err().Code != CodeNotFound {
		t.Errorf("error result round trip: %+v, %v", back2, err)
	}
	// A single proof map is taken as a set of one; other shapes are refused.
	var m DocumentMetadata
	if err := json.Unmarshal([]byte(`{"proof":`+tongProof+`,"deactivated":true,"method":{"x":1}}`), &m); err != nil ||
		len(m.Proof) != 1 || !m.Deactivated || m.Extra["method"] == nil {
		t.Errorf("single proof: %+v, %v", m, err)
	}
	for _, bad := range []string{`{"proof":1}`, `{"proof":[1]}`, `{"created":"yesterday"}`, `{"deactivated":null}`} {
		if err := json.Unmarshal([]byte(bad), &m); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
}

func TestMulti(t *testing.T) {
	t.Parallel()
	if _, err := NewMulti(map[string]Resolver{"Bad": KeyResolver{}}); err == nil {
		t.Errorf("NewMulti accepted an invalid method name")
	}
	if _, err := NewMulti(map[string]Resolver{"key": nil}); err == nil {
		t.Errorf("NewMulti accepted a nil resolver")
	}
	relDoc := &Document{ID: "did:rel:1", VerificationMethods: []VerificationMethod{{ID: "#k", Type: "X", Controller: "did:rel:1"}},
		Authentication: []VerificationRef{{Ref: "#k"}}}
	m, err := NewMulti(map[string]Resolver{
		"key": KeyResolver{},
		"plain": ResolverFunc(func(context.Context, string, ResolveOptions) (*Result, error) {
			return nil, errors.New("disk on fire")
		}),
		"wrongid": ResolverFunc(func(context.Context, string, ResolveOptions) (*Result, error) {
			return &Result{Document: &Document{ID: "did:wrongid:2"}}, nil
		}),
		"nil": ResolverFunc(func(context.Context, string, ResolveOptions) (*Result, error) { return nil, nil }),
		"rel": ResolverFunc(func(context.Context, string, ResolveOptions) (*Result, error) {
			return &Result{Document: relDoc.Clone()}, nil
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Methods(); !cmp.Equal(got, []string{"key", "nil", "plain", "rel", "wrongid"}) {
		t.Errorf("Methods() = %v", got)
	}
	tests := []struct {
		did  string
		opts ResolveOptions
		code Code
	}{
		{"did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", ResolveOptions{}, ""},
		{"did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#frag", ResolveOptions{}, CodeInvalidDID},
		{"not a did", ResolveOptions{}, CodeInvalidDID},
		{"did:web:example.com", ResolveOptions{}, CodeMethodNotSupported},
		{"did:plain:1", ResolveOptions{}, CodeInternalError},
		{"did:wrongid:1", ResolveOptions{}, CodeInvalidDIDDocument},
		{"did:nil:1", ResolveOptions{}, CodeInternalError},
		{"did:rel:1", ResolveOptions{VersionID: "1", VersionTime: time.Now()}, CodeInvalidOptions},
	}
	for _, tc := range tests {
		if _, err := m.Resolve(t.Context(), tc.did, tc.opts); CodeOf(err) != tc.code {
			t.Errorf("Resolve(%q) = %v, want %q", tc.did, err, tc.code)
		}
	}
	res, err := m.Resolve(t.Context(), "did:rel:1", ResolveOptions{ExpandRelativeURLs: true})
	if err != nil || res.Document.VerificationMethods[0].ID != "did:rel:1#k" || res.Document.Authentication[0].Ref != "did:rel:1#k" {
		t.Errorf("ExpandRelativeURLs: %+v, %v", res, err)
	}
}

// fakeClock is an injectable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestCache(t *testing.T) {
	t.Parallel()
	tong, _ := newTongLike(t)
	var fails atomic.Int32
	upstream := ResolverFunc(func(ctx context.Context, did string, opts ResolveOptions) (*Result, error) {
		if did == "did:tong:flaky" {
			fails.Add(1)
			return nil, &Error{Code: CodeInternalError}
		}
		return tong.Resolve(ctx, did, opts)
	})
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c, err := NewCache(CacheConfig{Resolver: upstream, TTL: time.Minute, NotFoundTTL: 10 * time.Second, MaxEntries: 3, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const id = "did:tong:zQmAgency1"

	r1, _ := c.Resolve(ctx, id, ResolveOptions{})
	r1.Document.ID = "did:tong:mutated" // callers own what they get
	r2, _ := c.Resolve(ctx, id, ResolveOptions{})
	if tong.calls.Load() != 1 || r2.Document.ID != id {
		t.Errorf("after two resolutions: %d calls, id %q", tong.calls.Load(), r2.Document.ID)
	}
	c.Resolve(ctx, id, ResolveOptions{VersionID: "1-bafyold"}) // options are part of the key
	if tong.calls.Load() != 2 {
		t.Errorf("options not in key: %d calls", tong.calls.Load())
	}
	clock.Add(61 * time.Second)
	c.Resolve(ctx, id, ResolveOptions{})
	if tong.calls.Load() != 3 {
		t.Errorf("TTL not honoured: %d calls", tong.calls.Load())
	}

	// NOT_FOUND is cached for NotFoundTTL only.
	for range 3 {
		if _, err := c.Resolve(ctx, "did:tong:missing", ResolveOptions{}); CodeOf(err) != CodeNotFound {
			t.Fatalf("missing: %v", err)
		}
	}
	if tong.calls.Load() != 4 {
		t.Errorf("NOT_FOUND not cached: %d calls", tong.calls.Load())
	}
	clock.Add(11 * time.Second)
	c.Resolve(ctx, "did:tong:missing", ResolveOptions{})
	if tong.calls.Load() != 5 {
		t.Errorf("NOT_FOUND cached too long: %d calls", tong.calls.Load())
	}
	// Other errors are not cached.
	c.Resolve(ctx, "did:tong:flaky", ResolveOptions{})
	c.Resolve(ctx, "did:tong:flaky", ResolveOptions{})
	if fails.Load() != 2 {
		t.Errorf("INTERNAL_ERROR cached: %d calls", fails.Load())
	}
	// Neither are deactivated DIDs.
	tong.deactivated = true
	before := tong.calls.Load()
	c.Purge()
	for range 2 {
		if res, err := c.Resolve(ctx, id, ResolveOptions{}); CodeOf(err) != CodeDeactivated || !res.DocumentMetadata.Deactivated {
			t.Errorf("deactivated: %+v, %v", res, err)
		}
	}
	if tong.calls.Load()-before != 2 {
		t.Errorf("deactivated result cached")
	}
	tong.deactivated = false

	// The cache is bounded.
	for i := range 10 {
		c.Resolve(ctx, fmt.Sprintf("did:tong:n%d", i), ResolveOptions{})
	}
	if n := c.Len(); n > 3 {
		t.Errorf("Len() = %d, want at most 3", n)
	}

	for _, cfg := range []CacheConfig{
		{},
		{Resolver: upstream, TTL: -1},
		{Resolver: upstream, TTL: time.Second, NotFoundTTL: time.Minute},
		{Resolver: upstream, MaxEntries: -1},
	} {
		if _, err := NewCache(cfg); err == nil {
			t.Errorf("NewCache(%+v) succeeded", cfg)
		}
	}
}

// TestCacheConcurrent runs many goroutines against one cache (run it with
// -race): concurrent misses for one DID share one upstream call, and a
// caller that gives up does not spoil the answer for the others.
func TestCacheConcurrent(t *testing.T) {
	t.Parallel()
	tong, _ := newTongLike(t)
	gate := make(chan struct{})
	var entered atomic.Int32
	upstream := ResolverFunc(func(ctx context.Context, did string, opts ResolveOptions) (*Result, error) {
		if did == tong.doc.ID {
			entered.Add(1)
			select {
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return tong.Resolve(ctx, did, opts)
	})
	c, err := NewCache(CacheConfig{Resolver: upstream, MaxEntries: 8})
	if err != nil {
		t.Fatal(err)
	}
	// The first caller leads and gives up; the others must still succeed.
	leaderCtx, cancelLeader := context.WithCancel(t.Context())
	leaderDone := make(chan error)
	go func() {
		_, err := c.Resolve(leaderCtx, tong.doc.ID, ResolveOptions{})
		leaderDone <- err
	}()
	for entered.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			did := tong.doc.ID
			if i%4 == 0 {
				did = fmt.Sprintf("did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2do%d", i%8)
			}
			res, err := c.Resolve(t.Context(), did, ResolveOptions{})
			if did == tong.doc.ID {
				if err != nil {
					errs <- err
					return
				}
				res.Document.VerificationMethods[0].ID = "#mine" // must not leak to others
				if res.DocumentMetadata.Proof == nil {
					errs <- errors.New("proof missing")
				}
			}
		}()
	}
	time.Sleep(10 * time.Millisecond)
	cancelLeader()
	if err := <-leaderDone; !errors.Is(err, context.Canceled) {
		t.Errorf("leader: %v", err)
	}
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The leader's call was cancelled; one retry served all waiters.
	if n := entered.Load(); n != 2 {
		t.Errorf("%d upstream calls", n)
	}
	res, err := c.Resolve(t.Context(), tong.doc.ID, ResolveOptions{})
	if err != nil || res.Document.VerificationMethods[0].ID != "#key-1" {
		t.Errorf("cached result was modified: %+v, %v", res, err)
	}
}

// A Cache is bounded by bytes as well as entries (issue 16 item 3): large
// documents under many distinct keys (versionTime values, say) stay within
// MaxBytes.
func TestCacheBoundedByBytes(t *testing.T) {
	t.Parallel()
	pad := strings.Repeat("p", 4<<10)
	upstream := ResolverFunc(func(ctx context.Context, id string, opts ResolveOptions) (*Result, error) {
		return &Result{Document: &Document{ID: id, Service: []Service{{ID: id + "#pad", Type: []string{"Padding"}, ServiceEndpoint: "https://x.test/" + pad}}}}, nil
	})
	const bound = 100 << 10
	c, err := NewCache(CacheConfig{Resolver: upstream, MaxEntries: 10000, MaxBytes: bound})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 500 {
		if _, err := c.Resolve(t.Context(), "did:example:a", ResolveOptions{VersionTime: base.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
		if c.Bytes() > bound {
			t.Fatalf("after %d distinct versionTimes the cache holds %d bytes, bound %d", i+1, c.Bytes(), bound)
		}
	}
	if n := c.Len(); n == 0 || n >= 500 {
		t.Errorf("Len() = %d, want some entries but far fewer than 500", n)
	}
	c.Purge()
	if c.Bytes() != 0 {
		t.Errorf("Bytes() after Purge = %d", c.Bytes())
	}
}
