// Package httpapi serves the did:tong registry over HTTP:
//
//	POST /registry/operations            append a signed operation (JSON)
//	GET  /registry/info                  origin, log key, trust authority
//	GET  /registry/issuers?url=U         the DID the trust authority bound issuer URL U to
//	GET  /1.0/identifiers/{did}          DID Resolution HTTP binding (?versionId=, ?versionTime=)
//	GET  /dids/{did}/log                 the DID's whole chain, each entry with its inclusion proof
//	GET  /dids/{did}/accreditations      accreditations of the DID
//	GET  /log/checkpoint                 the newest signed checkpoint (C2SP tlog-checkpoint)
//	GET  /log/key                        the log's note verifier key
//	GET  /log/tile/{L}/{N}[.p/{W}]       hash tiles (C2SP tlog-tiles)
//	GET  /log/tile/entries/{N}[.p/{W}]   entry bundles: each leaf as a 16-bit length and its bytes
//	GET  /log/proof/consistency?old=&new=  consistency proof between two tree sizes
//
// Errors are OAuth-shaped JSON through internal/httpx; resolution answers
// 404 for an unknown DID, 410 for a deactivated one and 400 for an invalid
// one, as the DID Resolution HTTP binding asks. A {did} in the path may be
// percent-encoded. An operation is posted as its canonical bytes, which
// become its leaf unchanged. Entry bundles and chains are streamed, and
// resolutions are cached by DID and version within a byte bound.
package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/didregistry/store"
	"github.com/tongid/tong/didregistry/wire"
	"github.com/tongid/tong/internal/bytelru"
	"github.com/tongid/tong/internal/httpx"
)

// Log is the registry's storage, all that the API serves from it:
// *store.Log implements it. Each group of routes reaches it only through
// the smaller interface declared beside its handlers.
type Log interface {
	Head
	Appender
	Index
	Chains
	Tiles
}

// Head gives the newest published checkpoint, which every read proves
// against (GET /registry/info, /log/checkpoint, and the groups below).
type Head interface {
	Latest() store.Published
}

// Config configures the API.
type Config struct {
	Log Log
	// Origin and VerifierKey describe the log (GET /registry/info, /log/key).
	Origin         string
	VerifierKey    string
	TrustAuthority string
	// Cosigned, if set, returns the newest checkpoint with the witnesses'
	// cosignatures; GET /log/checkpoint serves it.
	Cosigned func() []byte
	// CacheBytes bounds the resolution cache; 0 means DefaultCacheBytes.
	CacheBytes int64
}

// DefaultCacheBytes bounds the resolution cache.
const DefaultCacheBytes = 32 << 20

// API is the registry's HTTP API.
type API struct {
	cfg Config // without Log: the handlers use the fields below
	// Config.Log, seen by each group of routes as what it calls.
	head   Head
	ops    Appender
	index  Index
	chains Chains
	tiles  Tiles
	// cache holds, per registered DID, its replayed chain and the
	// resolution bodies built from it, valid for one tree size. It is
	// keyed by what was resolved (the DID, then the version number), not
	// by the query: any number of versionTime values that select the same
	// version share one body.
	cache *bytelru.Cache[string, *resolved]
}

// resolved is a DID's replayed chain at one tree size, and the bodies of
// the versions resolved so far. Only the newest state keeps its document
// (up to 64 KiB); an older version's is read back from the log when it is
// resolved, from the leaf docIdx names. A DID may have a long chain.
type resolved struct {
	size   int64
	states []*didregistry.State
	docIdx []int64 // per state: the log index of the operation that set its document
	bytes  int64   // of the states

	mu     sync.Mutex
	bodies map[int64]cachedBody // by seq
}

type cachedBody struct {
	status int
	body   []byte
}

// weight is the entry's size for the cache; r.mu is held.
func (r *resolved) weight(id string) int64 {
	n := int64(len(id)) + r.bytes
	for _, b := range r.bodies {
		n += int64(len(b.body)) + 32
	}
	return n
}

// New makes the API.
func New(cfg Config) (*API, error) {
	if cfg.Log == nil || cfg.Origin == "" || cfg.VerifierKey == "" {
		return nil, errors.New("didregistry/httpapi: Log, Origin and VerifierKey are required")
	}
	if cfg.CacheBytes < 0 {
		return nil, errors.New("didregistry/httpapi: CacheBytes must not be negative")
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	l := cfg.Log
	cfg.Log = nil
	return &API{cfg: cfg, head: l, ops: l, index: l, chains: l, tiles: l, cache: bytelru.New[string, *resolved](cfg.CacheBytes)}, nil
}

// Prefixes are the path prefixes Routes serves; web mounts each.
var Prefixes = []string{"/registry/*", "/1.0/identifiers/*", "/dids/*", "/log/*"}

// MaxOperationBody bounds POST /registry/operations.
const MaxOperationBody = didregistry.MaxOperationSize + 4<<10

// Routes lists every route. The public reads (resolution, the registry's
// info and issuer lookup, a DID's log and accreditations, the log's
// checkpoint, key, proofs and tiles) are readable from any origin, so
// that a wallet web app hosted elsewhere can check verifiers and issuers;
// they take no cookies and change nothing. Writes stay same-origin.
func (a *API) Routes() http.Handler {
	r := chi.NewRouter()
	r.Post("/registry/operations", a.postOperation)
	pub := &httpx.PublicRoutes{R: r}
	pub.Handle(http.MethodGet, "/registry/info", a.info)
	pub.Handle(http.MethodGet, "/registry/issuers", a.issuer)
	pub.Handle(http.MethodGet, "/1.0/identifiers/{did}", a.resolve)
	pub.Handle(http.MethodGet, "/dids/{did}/log", a.didLog)
	pub.Handle(http.MethodGet, "/dids/{did}/accreditations", a.accreditations)
	pub.Handle(http.MethodGet, "/log/checkpoint", a.checkpoint)
	pub.Handle(http.MethodGet, "/log/key", a.key)
	pub.Handle(http.MethodGet, "/log/proof/consistency", a.consistency)
	pub.Handle(http.MethodGet, "/log/tile/*", a.tile)
	return r
}

// Appender appends operations: POST /registry/operations.
type Appender interface {
	// Append validates and durably appends one operation (its canonical
	// bytes, the leaf), returning its place in the log.
	Append(ctx context.Context, leaf []byte) (store.Receipt, error)
}

func (a *API) postOperation(w http.ResponseWriter, r *http.Request) {
	body, err := httpx.ReadBody(w, r, MaxOperationBody)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	// The body is the leaf itself. It is not decoded and re-encoded: the
	// registry accepts only an operation's one byte form (JCS, no repeated
	// member), which ParseOperation checks, so that every operation has
	// one leaf and one hash.
	// Spec: docs/did-method-tong.md §2: "the only accepted serialization
	// (a non-canonical operation is refused)".
	rec, err := a.ops.Append(r.Context(), body)
	if err != nil {
		writeRegistryError(w, r, err)
		return
	}
	httpx.WriteJSON(w, r, http.StatusCreated, rec)
}

// didParam is the {did} path parameter, percent-decoded once. chi matches
// on the escaped path when the request's path has escapes Go would not
// have written (RawPath), and then hands the parameter over undecoded.
// Spec: DID Resolution v0.3 §HTTP(S) binding: the DID is percent-encoded
// in the request path (Universal Resolver clients send did%3Atong%3A…).
func didParam(r *http.Request) (string, bool) {
	p := chi.URLParam(r, "did")
	if r.URL.RawPath == "" {
		return p, true // the path had no escapes of its own: already decoded
	}
	id, err := url.PathUnescape(p)
	return id, err == nil
}

type infoResponse = wire.Info

func (a *API) info(w http.ResponseWriter, r *http.Request) {
	httpx.WriteJSON(w, r, http.StatusOK, infoResponse{Origin: a.cfg.Origin, LogKey: a.cfg.VerifierKey, TrustAuthority: a.cfg.TrustAuthority, TreeSize: a.head.Latest().Size})
}

// Index answers the registry's lookups: GET /registry/issuers and
// GET /dids/{did}/accreditations.
type Index interface {
	DIDForIssuerURL(ctx context.Context, url string) (string, error)
	Accreditations(ctx context.Context, subject string) ([]store.AccreditationRecord, error)
}

func (a *API) issuer(w http.ResponseWriter, r *http.Request) {
	u := r.URL.Query().Get("url")
	if u == "" {
		httpx.WriteError(w, r, httpx.E(http.StatusBadRequest, httpx.CodeInvalidRequest, "url is required"))
		return
	}
	d, err := a.index.DIDForIssuerURL(r.Context(), u)
	if err != nil {
		writeRegistryError(w, r, err)
		return
	}
	httpx.WriteJSON(w, r, http.StatusOK, map[string]string{"url": u, "did": d})
}

// Proof is didResolutionMetadata.proof / each chain entry's proof.
type Proof = wire.Proof

func proofStrings(p []tlog.Hash) []string {
	out := make([]string, len(p))
	for i, h := range p {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

// Chains reads DIDs' chains with inclusion proofs: GET
// /1.0/identifiers/{did} (which reads an older version's document back
// from its leaf) and GET /dids/{did}/log.
type Chains interface {
	// ChainPage is up to limit of did's operations with seq > after.
	ChainPage(ctx context.Context, did string, after int64, limit int) ([]didregistry.Entry, error)
	ProveInclusion(ctx context.Context, index, size int64) (tlog.RecordProof, error)
	Leaves(ctx context.Context, start, end int64) ([][]byte, error)
}

func (a *API) resolve(w http.ResponseWriter, r *http.Request) {
	id, ok := didParam(r)
	if !ok {
		a.resolutionError(w, r, &did.Error{Code: did.CodeInvalidDID, Description: "the DID's percent-encoding is malformed"})
		return
	}
	q := r.URL.Query()
	opts := did.ResolveOptions{VersionID: q.Get("versionId")}
	if vt := q.Get("versionTime"); vt != "" {
		t, err := time.Parse(time.RFC3339, vt)
		if err != nil {
			a.resolutionError(w, r, &did.Error{Code: did.CodeInvalidOptions, Description: "versionTime is not RFC 3339"})
			return
		}
		opts.VersionTime = t
	}
	if err := opts.Validate(); err != nil {
		a.resolutionError(w, r, err)
		return
	}
	latest := a.head.Latest()
	e, err := a.chainAt(r.Context(), id, latest)
	if err != nil {
		a.resolutionError(w, r, err)
		return
	}
	pick, err := didregistry.PickState(e.states, opts)
	if err != nil {
		a.resolutionError(w, r, err)
		return
	}
	seq := e.states[pick].Seq
	e.mu.Lock()
	c, ok := e.bodies[seq]
	e.mu.Unlock()
	if !ok {
		states := e.states
		if states[pick].Document == nil && !states[pick].Deactivated {
			doc, err := a.documentAt(r.Context(), e.docIdx[pick])
			if err != nil {
				a.resolutionError(w, r, err)
				return
			}
			states = slices.Clone(states)
			st := *states[pick]
			st.Document = doc
			states[pick] = &st
		}
		res, st, rerr := didregistry.ResolveStates(id, states, opts)
		if res == nil {
			a.resolutionError(w, r, rerr)
			return
		}
		status, body, err := a.buildResolution(r.Context(), id, res, st, rerr, latest)
		if err != nil {
			a.resolutionError(w, r, err)
			return
		}
		c = cachedBody{status: status, body: body}
		e.mu.Lock()
		e.bodies[seq] = c
		weight := e.weight(id)
		e.mu.Unlock()
		a.cache.Add(id, e, weight)
	}
	writeResolution(w, c.status, c.body)
}

// documentAt is the document set by the operation at log index idx.
func (a *API) documentAt(ctx context.Context, idx int64) (json.RawMessage, error) {
	leaves, err := a.chains.Leaves(ctx, idx, idx+1)
	if err != nil {
		return nil, err
	}
	if len(leaves) != 1 {
		return nil, fmt.Errorf("no leaf at %d", idx)
	}
	op, err := didregistry.ParseOperation(leaves[0])
	if err != nil {
		return nil, err
	}
	return op.Document, nil
}

func cloneStrings(in []string) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.Clone(s)
	}
	return out
}

// chainAt returns id's replayed chain at tree size latest, from the cache
// or the log. Only registered DIDs are cached.
func (a *API) chainAt(ctx context.Context, id string, latest store.Published) (*resolved, error) {
	if e, ok := a.cache.Get(id); ok && e.size == latest.Size {
		return e, nil
	}
	if !strings.HasPrefix(id, didregistry.Prefix) {
		if _, err := did.Parse(id); err != nil {
			return nil, &did.Error{Code: did.CodeInvalidDID, Description: "not a valid DID"}
		}
		return nil, &did.Error{Code: did.CodeMethodNotSupported, Description: "this registry resolves did:tong only"}
	}
	if _, err := did.Parse(id); err != nil {
		return nil, &did.Error{Code: did.CodeInvalidDID, Description: "not a valid DID"}
	}
	// The chain is read and replayed a page at a time; each state is kept
	// without the leaf it came from.
	e := &resolved{size: latest.Size, bodies: map[int64]cachedBody{}}
	var head *didregistry.State
	docIdx := int64(-1)
	for seq := int64(0); ; {
		page, err := a.chains.ChainPage(ctx, id, seq, chainPage)
		if err != nil {
			return nil, err
		}
		for _, en := range page {
			if en.Index >= latest.Size {
				break // committed after the checkpoint: not provable against it
			}
			next, op, err := didregistry.ApplyTrusted(head, en)
			if err != nil {
				return nil, err
			}
			if op.Document != nil || op.Type == didregistry.OpCreate {
				docIdx = en.Index
			}
			if head != nil {
				head.Document = nil // read back from the log if asked for
			}
			next.DID = id
			next.UpdateKeys = cloneStrings(next.UpdateKeys)
			next.NextKeyHashes = cloneStrings(next.NextKeyHashes)
			next.Document = slices.Clone(next.Document)
			e.states = append(e.states, next)
			e.docIdx = append(e.docIdx, docIdx)
			e.bytes += 256 + int64(len(next.EntryHash))
			for _, k := range next.UpdateKeys {
				e.bytes += int64(len(k))
			}
			for _, k := range next.NextKeyHashes {
				e.bytes += int64(len(k))
			}
			head = next
		}
		if len(page) < chainPage || page[len(page)-1].Index >= latest.Size {
			break
		}
		seq += int64(len(page))
	}
	if head == nil {
		return nil, &did.Error{Code: did.CodeNotFound, Description: id + " is not registered"}
	}
	e.bytes += int64(len(head.Document))
	a.cache.Add(id, e, e.weight(id))
	return e, nil
}

func writeResolution(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", did.MediaTypeDIDResolution)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	w.Write(body)
}

func (a *API) buildResolution(ctx context.Context, id string, res *did.Result, st *didregistry.State, rerr error, latest store.Published) (int, []byte, error) {
	p, err := a.chains.ProveInclusion(ctx, st.LogIndex, latest.Size)
	if err != nil {
		return 0, nil, err
	}
	raw, _ := json.Marshal(Proof{LogIndex: st.LogIndex, Checkpoint: string(latest.Signed), InclusionProof: proofStrings(p)})
	res.ResolutionMetadata.Proof = []json.RawMessage{raw}
	status := http.StatusOK
	if rerr != nil {
		status = httpx.StatusIn(resolutionStatuses, did.CodeDeactivated)
		res.ResolutionMetadata.Error = did.ProblemOf(&did.Error{Code: did.CodeDeactivated, Description: id + " is deactivated"})
	}
	body, err := json.Marshal(res)
	return status, body, err
}

// ChainEntry is one operation of GET /dids/{did}/log.
type ChainEntry = wire.ChainEntry

// ChainResponse is GET /dids/{did}/log.
type ChainResponse = wire.ChainResponse

// chainPage is how many operations GET /dids/{did}/log reads at a time.
const chainPage = 32

// didLog streams the chain a page at a time: a chain can be long (the trust
// authority's grows with every accreditation), so the response is never
// built whole, and no database connection is held while a page is written.
// The body is a ChainResponse.
func (a *API) didLog(w http.ResponseWriter, r *http.Request) {
	id, ok := didParam(r)
	if !ok {
		httpx.WriteError(w, r, httpx.E(http.StatusBadRequest, httpx.CodeInvalidRequest, "the DID's percent-encoding is malformed"))
		return
	}
	ctx := r.Context()
	latest := a.head.Latest()
	page, err := a.chains.ChainPage(ctx, id, 0, chainPage)
	if err == nil && (len(page) == 0 || page[0].Index >= latest.Size) {
		err = &didregistry.Error{Code: didregistry.CodeNotFound, Description: id + " is not registered"}
	}
	if err != nil {
		writeRegistryError(w, r, err)
		return
	}
	head, _ := json.Marshal(struct {
		DID        string `json:"did"`
		Checkpoint string `json:"checkpoint"`
	}{id, string(latest.Signed)})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-cache")
	buf := append(head[:len(head)-1:len(head)-1], `,"entries":[`...)
	var seq int64
	for n := 0; len(page) > 0; {
		for _, e := range page {
			if e.Index >= latest.Size {
				page = nil // committed after the checkpoint we prove against
				break
			}
			p, err := a.chains.ProveInclusion(ctx, e.Index, latest.Size)
			if err != nil {
				abortStream(r, "chain cut short", err)
			}
			entry, _ := json.Marshal(ChainEntry{LogIndex: e.Index, Operation: e.Leaf, InclusionProof: proofStrings(p)})
			if n > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, entry...)
			n++
		}
		if _, err := w.Write(buf); err != nil {
			return
		}
		buf = buf[:0]
		if len(page) < chainPage {
			break
		}
		seq += int64(len(page)) // a chain's seqs are 1, 2, 3, …
		if page, err = a.chains.ChainPage(ctx, id, seq, chainPage); err != nil {
			abortStream(r, "chain cut short", err)
		}
	}
	w.Write([]byte("]}\n"))
}

// abortStream ends a response whose status is already sent: the client
// sees a truncated body (an error), never a wrong one.
func abortStream(r *http.Request, msg string, err error) {
	httpx.LoggerFrom(r.Context()).ErrorContext(r.Context(), msg, "err", err)
	panic(http.ErrAbortHandler)
}

func (a *API) accreditations(w http.ResponseWriter, r *http.Request) {
	id, ok := didParam(r)
	if !ok {
		httpx.WriteError(w, r, httpx.E(http.StatusBadRequest, httpx.CodeInvalidRequest, "the DID's percent-encoding is malformed"))
		return
	}
	as, err := a.index.Accreditations(r.Context(), id)
	if err != nil {
		writeRegistryError(w, r, err)
		return
	}
	if as == nil {
		as = []store.AccreditationRecord{}
	}
	httpx.WriteJSON(w, r, http.StatusOK, map[string]any{"accreditations": as})
}

func (a *API) checkpoint(w http.ResponseWriter, r *http.Request) {
	p := a.head.Latest()
	if p.Size == 0 {
		httpx.WriteError(w, r, httpx.E(http.StatusNotFound, httpx.CodeNotFound, "the log is empty"))
		return
	}
	if a.cfg.Cosigned != nil {
		if c := a.cfg.Cosigned(); c != nil {
			p.Signed = c
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	// Spec: C2SP tlog-tiles: the checkpoint changes; clients revalidate.
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(p.Signed)
}

func (a *API) key(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	fmt.Fprintln(w, a.cfg.VerifierKey)
}

// Tiles serves the log itself: GET /log/proof/consistency and
// /log/tile/... (hash tiles and entry bundles).
type Tiles interface {
	ProveConsistency(ctx context.Context, old, new int64) (tlog.TreeProof, error)
	HashReader(ctx context.Context) tlog.HashReader
	Leaves(ctx context.Context, start, end int64) ([][]byte, error)
}

func (a *API) consistency(w http.ResponseWriter, r *http.Request) {
	old, err1 := strconv.ParseInt(r.URL.Query().Get("old"), 10, 64)
	nw, err2 := strconv.ParseInt(r.URL.Query().Get("new"), 10, 64)
	latest := a.head.Latest().Size
	if err1 != nil || err2 != nil || old < 1 || old > nw || nw > latest {
		httpx.WriteError(w, r, httpx.E(http.StatusBadRequest, httpx.CodeInvalidRequest, fmt.Sprintf("want 1 <= old <= new <= %d", latest)))
		return
	}
	p, err := a.tiles.ProveConsistency(r.Context(), old, nw)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	httpx.WriteJSON(w, r, http.StatusOK, map[string]any{"old": old, "new": nw, "proof": proofStrings(p)})
}

// TileHeight is the C2SP tlog-tiles height: 256 hashes per full tile.
const TileHeight = 8

// parseTilePath reads "<L>/<N>[.p/<W>]" or "entries/<N>[.p/<W>]", where N
// is written as x001/x234/067 (C2SP tlog-tiles).
func parseTilePath(p string) (level int, n int64, width int, entries bool, err error) {
	bad := fmt.Errorf("malformed tile path %q", p)
	first, rest, ok := strings.Cut(p, "/")
	if !ok {
		return 0, 0, 0, false, bad
	}
	if first == "entries" {
		entries = true
	} else {
		level, err = strconv.Atoi(first)
		if err != nil || level < 0 || level > 63/TileHeight || strconv.Itoa(level) != first {
			return 0, 0, 0, false, bad
		}
	}
	width = 1 << TileHeight
	if i := strings.Index(rest, ".p/"); i >= 0 {
		w, err := strconv.Atoi(rest[i+3:])
		if err != nil || w < 1 || w >= 1<<TileHeight || strconv.Itoa(w) != rest[i+3:] {
			return 0, 0, 0, false, bad
		}
		width, rest = w, rest[:i]
	}
	parts := strings.Split(rest, "/")
	if len(parts) > 6 {
		return 0, 0, 0, false, bad // 18 digits: N stays below 10^18, far from overflow
	}
	for i, part := range parts {
		if i < len(parts)-1 {
			if !strings.HasPrefix(part, "x") {
				return 0, 0, 0, false, bad
			}
			part = part[1:]
		}
		if len(part) != 3 || strings.Trim(part, "0123456789") != "" {
			return 0, 0, 0, false, bad
		}
		d, _ := strconv.Atoi(part)
		n = n*1000 + int64(d)
	}
	if len(parts) > 1 && strings.TrimPrefix(parts[0], "x") == "000" {
		return 0, 0, 0, false, bad // not canonical
	}
	return level, n, width, entries, nil
}

// bundleChunk is how many leaves an entry bundle reads at a time: a
// response holds at most this many (60 KiB each) while it waits for a slow
// reader, and no database connection while it writes.
const bundleChunk = 16

func (a *API) tile(w http.ResponseWriter, r *http.Request) {
	level, n, width, entries, err := parseTilePath(chi.URLParam(r, "*"))
	if err != nil {
		httpx.WriteError(w, r, httpx.E(http.StatusNotFound, httpx.CodeNotFound, err.Error()))
		return
	}
	// Spec: C2SP tlog-tiles: tile N of level L holds the level-L hashes
	// N*256 … N*256+W-1, and level L has size >> (8L) of them (entry
	// bundles are level 0). The comparison comes before any
	// multiplication, so no tile number can overflow into the tree.
	size := a.head.Latest().Size
	avail := size >> (TileHeight * level) // level ≤ 7: the shift is ≤ 56
	if n > avail>>TileHeight || n<<TileHeight+int64(width) > avail {
		httpx.WriteError(w, r, httpx.E(http.StatusNotFound, httpx.CodeNotFound, "no such tile in the tree"))
		return
	}
	var body []byte
	if !entries {
		t := tlog.Tile{H: TileHeight, L: level, N: n, W: width}
		if body, err = tlog.ReadTileData(t, a.tiles.HashReader(r.Context())); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	// Spec: C2SP tlog-tiles: full tiles never change; a partial tile is
	// replaced by a wider one as the tree grows, so it is cached briefly.
	if width == 1<<TileHeight {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=60")
	}
	if !entries {
		w.Write(body)
		return
	}
	// An entry bundle is up to 256 leaves of 60 KiB: it is streamed a
	// chunk at a time rather than built whole.
	first, end := n<<TileHeight, n<<TileHeight+int64(width)
	buf := make([]byte, 0, 2+didregistry.MaxOperationSize)
	for start := first; start < end; start += bundleChunk {
		leaves, err := a.tiles.Leaves(r.Context(), start, min(start+bundleChunk, end))
		if err == nil && len(leaves) != int(min(start+bundleChunk, end)-start) {
			err = fmt.Errorf("read %d leaves from %d, want %d", len(leaves), start, min(start+bundleChunk, end)-start)
		}
		if err != nil {
			if start == first {
				w.Header().Del("Cache-Control")
				httpx.WriteError(w, r, err)
				return
			}
			abortStream(r, "entry bundle cut short", err)
		}
		for _, l := range leaves {
			buf = binary.BigEndian.AppendUint16(buf[:0], uint16(len(l)))
			buf = append(buf, l...)
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	}
}
