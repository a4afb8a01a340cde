package verifier

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/credential/statuslist"
	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry/client"
)

// trust holds everything the verifier learns from the network (issuer
// keys, the registry's accreditations and issuer DIDs, status lists)
// behind caches with explicit staleness: fresh for CacheTTL, then fetched
// again; if that fetch fails, the old answer serves for MaxStale more and
// each result says how stale it was.
type trust struct {
	cfg Config

	// The caches are keyed by values from presented credentials (iss,
	// kid, status list URI), so each is bounded by bytes (MaxCacheBytes).
	mu       sync.Mutex
	accs     []client.Accreditation
	accsAt   time.Time
	issuers  *sizedCache[*issuerEntry]
	lists    *sizedCache[*listEntry]
	keys     *sizedCache[*keyEntry]
	flightMu sync.Mutex // one registry refresh at a time
}

type issuerEntry struct {
	did string
	doc *did.Document
	at  time.Time
	// keys are the document's assertion keys, decoded once.
	keys []crypto.PublicKey
}

// size estimates the entry's bytes: its document (DID, methods, services)
// and its decoded keys.
func (e *issuerEntry) size() int64 {
	n := len(e.did) + 256*len(e.keys)
	for _, vm := range e.doc.VerificationMethods {
		n += len(vm.ID) + len(vm.Controller) + len(vm.PublicKeyMultibase) + len(vm.Type) + 64
	}
	for _, sv := range e.doc.Service {
		n += len(sv.ID) + 128
	}
	return int64(n) + 512
}

func newIssuerEntry(id string, doc *did.Document, at time.Time) *issuerEntry {
	e := &issuerEntry{did: id, doc: doc, at: at}
	for _, ref := range doc.Relationship(did.AssertionMethod) {
		kid := ref.Ref
		if kid == "" && ref.Embedded != nil {
			kid = ref.Embedded.ID
		}
		if k, err := doc.KeyFor(did.AssertionMethod, kid); err == nil {
			e.keys = append(e.keys, k)
		}
	}
	return e
}

type listEntry struct {
	tok *statuslist.Token
	at  time.Time
	ttl time.Duration
}

type keyEntry struct {
	key crypto.PublicKey
	at  time.Time
}

func newTrust(cfg Config) *trust {
	return &trust{cfg: cfg, issuers: newSizedCache[*issuerEntry](cfg.MaxCacheBytes), lists: newSizedCache[*listEntry](cfg.MaxCacheBytes),
		keys: newSizedCache[*keyEntry](cfg.MaxCacheBytes)}
}

// staleness is how far past its fresh period a cached answer was.
func (t *trust) staleness(at time.Time, ttl time.Duration) time.Duration {
	age := t.cfg.Now().Sub(at)
	if age <= ttl {
		return 0
	}
	return age - ttl
}

// accreditations returns the registry's accreditations and their
// staleness.
func (t *trust) accreditations(ctx context.Context) ([]client.Accreditation, time.Duration, error) {
	t.mu.Lock()
	accs, at := t.accs, t.accsAt
	t.mu.Unlock()
	now := t.cfg.Now()
	if accs != nil && now.Sub(at) < t.cfg.CacheTTL {
		return accs, 0, nil
	}
	t.flightMu.Lock()
	defer t.flightMu.Unlock()
	t.mu.Lock()
	accs, at = t.accs, t.accsAt
	t.mu.Unlock()
	if accs != nil && now.Sub(at) < t.cfg.CacheTTL {
		return accs, 0, nil
	}
	fresh, err := t.cfg.Registry.Accreditations(ctx)
	if err == nil {
		t.mu.Lock()
		t.accs, t.accsAt = fresh, now
		t.mu.Unlock()
		return fresh, 0, nil
	}
	if accs != nil && now.Sub(at) < t.cfg.CacheTTL+t.cfg.MaxStale {
		return accs, t.staleness(at, t.cfg.CacheTTL), nil
	}
	return nil, 0, &Error{Code: CodeRegistryUnavailable, Description: "the registry cannot be reached and no recent copy is cached", Err: err}
}

// accredited reports whether subject held role for item at time at.
func (t *trust) accredited(ctx context.Context, subject, role, item string, at time.Time) (bool, time.Duration, error) {
	accs, stale, err := t.accreditations(ctx)
	if err != nil {
		return false, 0, err
	}
	return client.AccreditedIn(accs, subject, role, item, at), stale, nil
}

// issuer returns the did:tong DID (and document) that names issuer URL iss.
func (t *trust) issuer(ctx context.Context, iss string) (*issuerEntry, time.Duration, error) {
	now := t.cfg.Now()
	t.mu.Lock()
	e, _ := t.issuers.get(iss)
	t.mu.Unlock()
	if e != nil && now.Sub(e.at) < t.cfg.CacheTTL {
		return e, 0, nil
	}
	id, doc, err := t.cfg.Registry.DIDForIssuerURL(ctx, iss)
	if err == nil {
		ne := newIssuerEntry(id, doc, now)
		t.mu.Lock()
		t.issuers.put(iss, ne, ne.size())
		t.mu.Unlock()
		return ne, 0, nil
	}
	if e != nil && now.Sub(e.at) < t.cfg.CacheTTL+t.cfg.MaxStale {
		return e, t.staleness(e.at, t.cfg.CacheTTL), nil
	}
	return nil, 0, &Error{Code: CodeIssuerUnknown, Description: "the registry names no did:tong agency for issuer " + iss, Err: err}
}

// checkIssuerKey is credential.IssuerKeys.Check: the key that verified the
// credential must be an assertion key of the agency's did:tong document,
// the document that names iss.
func (t *trust) checkIssuerKey(ctx context.Context, iss string, h credential.Header, key crypto.PublicKey) error {
	e, _, err := t.issuer(ctx, iss)
	if err != nil {
		return err
	}
	for _, k := range e.keys {
		if sameKey(k, key) {
			return nil
		}
	}
	return fmt.Errorf("the issuer key is not an assertion key of %s", e.did)
}

func sameKey(a, b crypto.PublicKey) bool {
	switch ka := a.(type) {
	case *ecdsa.PublicKey:
		return ka.Equal(b)
	case ed25519.PublicKey:
		return ka.Equal(b)
	}
	return false
}

// webKeys is the JWT VC Issuer Metadata resolver, with a stale fallback.
// It fetches nothing for an issuer URL that the registry binds to no
// did:tong agency: such a credential is refused (issuer_unknown) before
// any request leaves, so a presentation cannot make the verifier fetch
// from, or cache keys of, URLs of the presenter's choosing.
func (t *trust) webKeys() credential.IssuerKeyResolver {
	web := &credential.JWTVCIssuerMetadata{Client: t.cfg.HTTPClient, AllowLoopbackHTTP: t.cfg.AllowLoopbackHTTP, TTL: t.cfg.CacheTTL}
	return credential.IssuerKeyFunc(func(ctx context.Context, iss string, h credential.Header) (crypto.PublicKey, error) {
		if _, _, err := t.issuer(ctx, iss); err != nil {
			return nil, err
		}
		k := iss + "\x00" + h.Kid
		key, err := web.ResolveIssuerKey(ctx, iss, h)
		now := t.cfg.Now()
		if err == nil {
			t.mu.Lock()
			t.keys.put(k, &keyEntry{key: key, at: now}, 256)
			t.mu.Unlock()
			return key, nil
		}
		t.mu.Lock()
		e, _ := t.keys.get(k)
		t.mu.Unlock()
		if e != nil && now.Sub(e.at) < t.cfg.CacheTTL+t.cfg.MaxStale {
			return e.key, nil
		}
		return nil, err
	})
}

// status returns a credential's status from its list, fetched and cached
// for the list's ttl, and the staleness of the list used.
func (t *trust) status(ctx context.Context, ref *credential.StatusRef, key crypto.PublicKey) (byte, time.Duration, error) {
	now := t.cfg.Now()
	t.mu.Lock()
	e, _ := t.lists.get(ref.URI)
	t.mu.Unlock()
	if e == nil || now.Sub(e.at) >= e.ttl {
		ne, err := t.fetchList(ctx, ref.URI, key)
		if err == nil {
			t.mu.Lock()
			t.lists.put(ref.URI, ne, int64(ne.tok.List.Size()*ne.tok.List.Bits()/8)+512)
			t.mu.Unlock()
			e = ne
		} else if e == nil || now.Sub(e.at) >= e.ttl+t.cfg.MaxStale {
			return 0, 0, &Error{Code: CodeStatusUnavailable, Description: "the status list cannot be fetched", Err: err}
		}
	}
	s, err := e.tok.List.Get(ref.Index)
	if err != nil {
		return 0, 0, &Error{Code: CodeStatusUnavailable, Description: "status index out of range", Err: err}
	}
	return s, t.staleness(e.at, e.ttl), nil
}

func (t *trust) fetchList(ctx context.Context, uri string, key crypto.PublicKey) (*listEntry, error) {
	if err := checkURL(uri, t.cfg.AllowLoopbackHTTP); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/statuslist+jwt")
	resp, err := t.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status list %s: HTTP %d", uri, resp.StatusCode)
	}
	body, err := readLimited(resp.Body, statuslist.MaxTokenSize)
	if err != nil {
		return nil, err
	}
	tok, err := statuslist.ParseToken(string(body), uri, key, t.cfg.Now())
	if err != nil {
		return nil, err
	}
	ttl := tok.TTL
	if ttl <= 0 || ttl > t.cfg.CacheTTL {
		ttl = t.cfg.CacheTTL
	}
	return &listEntry{tok: tok, at: t.cfg.Now(), ttl: ttl}, nil
}
