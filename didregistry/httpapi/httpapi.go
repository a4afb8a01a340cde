// Package httpapi serves the did:tong registry over HTTP:
//
//	POST /registry/operations            append a signed operation (JSON)
//	GET  /registry/info                  origin, log key, trust authority
//	GET  /registry/issuers?url=U         the DID whose document names issuer URL U
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
// one, as the DID Resolution HTTP binding asks.
package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
	"github.com/tongid/tong/internal/httpx"
)

// Log is what the API needs of the registry's storage.
type Log interface {
	Append(ctx context.Context, leaf []byte) (store.Receipt, error)
	Latest() store.Published
	Chain(ctx context.Context, did string) ([]didregistry.Entry, error)
	ProveInclusion(ctx context.Context, index, size int64) (tlog.RecordProof, error)
	ProveConsistency(ctx context.Context, old, new int64) (tlog.TreeProof, error)
	HashReader(ctx context.Context) tlog.HashReader
	Leaves(ctx context.Context, start, end int64) ([][]byte, error)
	Accreditations(ctx context.Context, subject string) ([]store.AccreditationRecord, error)
	DIDForIssuerURL(ctx context.Context, url string) (string, error)
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
}

// API is the registry's HTTP API.
type API struct {
	cfg Config

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	size   int64
	status int
	body   []byte
}

// New makes the API.
func New(cfg Config) (*API, error) {
	if cfg.Log == nil || cfg.Origin == "" || cfg.VerifierKey == "" {
		return nil, errors.New("didregistry/httpapi: Log, Origin and VerifierKey are required")
	}
	return &API{cfg: cfg, cache: map[string]cached{}}, nil
}

// Prefixes are the path prefixes Routes serves; web mounts each.
var Prefixes = []string{"/registry/*", "/1.0/identifiers/*", "/dids/*", "/log/*"}

// MaxOperationBody bounds POST /registry/operations.
const MaxOperationBody = didregistry.MaxOperationSize + 4<<10

// Routes lists every route.
func (a *API) Routes() http.Handler {
	r := chi.NewRouter()
	r.Post("/registry/operations", a.postOperation)
	r.Get("/registry/info", a.info)
	r.Get("/registry/issuers", a.issuer)
	r.Get("/1.0/identifiers/{did}", a.resolve)
	r.Get("/dids/{did}/log", a.didLog)
	r.Get("/dids/{did}/accreditations", a.accreditations)
	r.Get("/log/checkpoint", a.checkpoint)
	r.Get("/log/key", a.key)
	r.Get("/log/proof/consistency", a.consistency)
	r.Get("/log/tile/*", a.tile)
	return r
}

// statusOf maps registry codes to HTTP statuses.
func statusOf(c didregistry.Code) int {
	switch c {
	case didregistry.CodeConflict, didregistry.CodeExists:
		return http.StatusConflict
	case didregistry.CodeNotFound:
		return http.StatusNotFound
	case didregistry.CodeDeactivated:
		return http.StatusGone
	case didregistry.CodeUnauthorized, didregistry.CodePreRotation, didregistry.CodeNotAuthority, didregistry.CodeInvalidSignature:
		return http.StatusForbidden
	case didregistry.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case didregistry.CodeUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

func writeRegistryError(w http.ResponseWriter, r *http.Request, err error) {
	var e *didregistry.Error
	if errors.As(err, &e) {
		httpx.WriteError(w, r, &httpx.Error{Status: statusOf(e.Code), Code: string(e.Code), Description: e.Detail, Err: err})
		return
	}
	httpx.WriteError(w, r, err)
}

func (a *API) postOperation(w http.ResponseWriter, r *http.Request) {
	body, err := httpx.ReadBody(w, r, MaxOperationBody)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	var op didregistry.Operation
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&op); err != nil {
		httpx.WriteError(w, r, httpx.Wrap(http.StatusBadRequest, httpx.CodeInvalidRequest, "the body is not a did:tong operation", err))
		return
	}
	leaf, err := op.Canonical()
	if err != nil {
		httpx.WriteError(w, r, httpx.Wrap(http.StatusBadRequest, httpx.CodeInvalidRequest, "the operation cannot be canonicalized", err))
		return
	}
	rec, err := a.cfg.Log.Append(r.Context(), leaf)
	if err != nil {
		writeRegistryError(w, r, err)
		return
	}
	httpx.WriteJSON(w, r, http.StatusCreated, rec)
}

type infoResponse = wire.Info

func (a *API) info(w http.ResponseWriter, r *http.Request) {
	httpx.WriteJSON(w, r, http.StatusOK, infoResponse{Origin: a.cfg.Origin, LogKey: a.cfg.VerifierKey, TrustAuthority: a.cfg.TrustAuthority, TreeSize: a.cfg.Log.Latest().Size})
}

func (a *API) issuer(w http.ResponseWriter, r *http.Request) {
	u := r.URL.Query().Get("url")
	if u == "" {
		httpx.WriteError(w, r, httpx.E(http.StatusBadRequest, httpx.CodeInvalidRequest, "url is required"))
		return
	}
	d, err := a.cfg.Log.DIDForIssuerURL(r.Context(), u)
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

func (a *API) resolve(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "did")
	q := r.URL.Query()
	opts := did.ResolveOptions{VersionID: q.Get("versionId")}
	if vt := q.Get("versionTime"); vt != "" {
		t, err := time.Parse(time.RFC3339, vt)
		if err != nil {
			a.resolutionError(w, r, &did.Error{Code: did.CodeInvalidOptions, Detail: "versionTime is not RFC 3339"})
			return
		}
		opts.VersionTime = t
	}
	if err := opts.Validate(); err != nil {
		a.resolutionError(w, r, err)
		return
	}
	latest := a.cfg.Log.Latest()
	key := id + "\x00" + opts.VersionID + "\x00" + q.Get("versionTime")
	a.mu.Lock()
	c, ok := a.cache[key]
	a.mu.Unlock()
	if ok && c.size == latest.Size {
		writeResolution(w, c.status, c.body)
		return
	}
	status, body, err := a.buildResolution(r.Context(), id, opts, latest)
	if err != nil {
		a.resolutionError(w, r, err)
		return
	}
	a.mu.Lock()
	if len(a.cache) > 10000 {
		clear(a.cache)
	}
	a.cache[key] = cached{size: latest.Size, status: status, body: body}
	a.mu.Unlock()
	writeResolution(w, status, body)
}

func writeResolution(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", did.MediaTypeDIDResolution)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	w.Write(body)
}

func (a *API) buildResolution(ctx context.Context, id string, opts did.ResolveOptions, latest store.Published) (int, []byte, error) {
	if !strings.HasPrefix(id, didregistry.Prefix) {
		if _, err := did.Parse(id); err != nil {
			return 0, nil, &did.Error{Code: did.CodeInvalidDID, Detail: id + " is not a valid DID"}
		}
		return 0, nil, &did.Error{Code: did.CodeMethodNotSupported, Detail: "this registry resolves did:tong only"}
	}
	if _, err := did.Parse(id); err != nil {
		return 0, nil, &did.Error{Code: did.CodeInvalidDID, Detail: id + " is not a valid DID"}
	}
	chain, err := a.cfg.Log.Chain(ctx, id)
	if didregistry.CodeOf(err) == didregistry.CodeNotFound {
		return 0, nil, &did.Error{Code: did.CodeNotFound, Detail: id + " is not registered"}
	}
	if err != nil {
		return 0, nil, err
	}
	states, err := didregistry.ReplayTrusted(chain)
	if err != nil {
		return 0, nil, err
	}
	res, st, rerr := didregistry.ResolveStates(id, states, opts)
	if res == nil {
		return 0, nil, rerr
	}
	p, err := a.cfg.Log.ProveInclusion(ctx, st.LogIndex, latest.Size)
	if err != nil {
		return 0, nil, err
	}
	raw, _ := json.Marshal(Proof{LogIndex: st.LogIndex, Checkpoint: string(latest.Signed), InclusionProof: proofStrings(p)})
	res.ResolutionMetadata.Proof = []json.RawMessage{raw}
	status := http.StatusOK
	if rerr != nil {
		status = http.StatusGone
		res.ResolutionMetadata.Error = (&did.Error{Code: did.CodeDeactivated, Detail: id + " is deactivated"}).Problem()
	}
	body, err := json.Marshal(res)
	return status, body, err
}

// resolutionError answers with a DID resolution result holding the error,
// with the status the HTTP binding gives its type.
func (a *API) resolutionError(w http.ResponseWriter, r *http.Request, err error) {
	var de *did.Error
	if !errors.As(err, &de) {
		httpx.WriteError(w, r, err)
		return
	}
	status := http.StatusBadRequest
	switch de.Code {
	case did.CodeNotFound:
		status = http.StatusNotFound
	case did.CodeDeactivated:
		status = http.StatusGone
	case did.CodeMethodNotSupported:
		status = http.StatusNotImplemented
	case did.CodeInternalError:
		status = http.StatusInternalServerError
	}
	res := did.Result{ResolutionMetadata: did.ResolutionMetadata{Error: de.Problem()}}
	body, _ := json.Marshal(res)
	writeResolution(w, status, body)
}

// ChainEntry is one operation of GET /dids/{did}/log.
type ChainEntry = wire.ChainEntry

// ChainResponse is GET /dids/{did}/log.
type ChainResponse = wire.ChainResponse

func (a *API) didLog(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "did")
	latest := a.cfg.Log.Latest()
	chain, err := a.cfg.Log.Chain(r.Context(), id)
	if err != nil {
		writeRegistryError(w, r, err)
		return
	}
	resp := ChainResponse{DID: id, Checkpoint: string(latest.Signed)}
	for _, e := range chain {
		if e.Index >= latest.Size {
			break // committed after the checkpoint we prove against
		}
		p, err := a.cfg.Log.ProveInclusion(r.Context(), e.Index, latest.Size)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		resp.Entries = append(resp.Entries, ChainEntry{LogIndex: e.Index, Operation: e.Leaf, InclusionProof: proofStrings(p)})
	}
	w.Header().Set("Cache-Control", "no-cache")
	httpx.WriteJSON(w, r, http.StatusOK, resp)
}

func (a *API) accreditations(w http.ResponseWriter, r *http.Request) {
	as, err := a.cfg.Log.Accreditations(r.Context(), chi.URLParam(r, "did"))
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
	p := a.cfg.Log.Latest()
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

func (a *API) consistency(w http.ResponseWriter, r *http.Request) {
	old, err1 := strconv.ParseInt(r.URL.Query().Get("old"), 10, 64)
	nw, err2 := strconv.ParseInt(r.URL.Query().Get("new"), 10, 64)
	latest := a.cfg.Log.Latest().Size
	if err1 != nil || err2 != nil || old < 1 || old > nw || nw > latest {
		httpx.WriteError(w, r, httpx.E(http.StatusBadRequest, httpx.CodeInvalidRequest, fmt.Sprintf("want 1 <= old <= new <= %d", latest)))
		return
	}
	p, err := a.cfg.Log.ProveConsistency(r.Context(), old, nw)
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

func (a *API) tile(w http.ResponseWriter, r *http.Request) {
	level, n, width, entries, err := parseTilePath(chi.URLParam(r, "*"))
	if err != nil {
		httpx.WriteError(w, r, httpx.E(http.StatusNotFound, httpx.CodeNotFound, err.Error()))
		return
	}
	size := a.cfg.Log.Latest().Size
	var body []byte
	if entries {
		first := n << TileHeight
		if first+int64(width) > size {
			httpx.WriteError(w, r, httpx.E(http.StatusNotFound, httpx.CodeNotFound, "no such entry bundle yet"))
			return
		}
		leaves, err := a.cfg.Log.Leaves(r.Context(), first, first+int64(width))
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		for _, l := range leaves {
			body = binary.BigEndian.AppendUint16(body, uint16(len(l)))
			body = append(body, l...)
		}
	} else {
		t := tlog.Tile{H: TileHeight, L: level, N: n, W: width}
		// The tile's last hash covers entries up to this index at level 0.
		need := (n*(1<<TileHeight) + int64(width)) << (TileHeight * level)
		if need > size {
			httpx.WriteError(w, r, httpx.E(http.StatusNotFound, httpx.CodeNotFound, "no such tile yet"))
			return
		}
		body, err = tlog.ReadTileData(t, a.cfg.Log.HashReader(r.Context()))
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if width == 1<<TileHeight {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=60")
	}
	w.Write(body)
}
