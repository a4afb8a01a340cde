// Package client resolves did:tong DIDs through a registry's HTTP API
// without trusting the registry: for every answer it checks the signed
// checkpoint with the log's pinned key, checks that the checkpoint is
// consistent with every checkpoint it saw before (a fork is a
// *didregistry.ForkError carrying both), checks each operation's
// inclusion proof against it, and replays the DID's chain itself
// (signatures, links, SCID, pre-rotation). Issuers, wallets and verifiers
// use it as their did.Resolver for did:tong and for accreditations.
package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/didregistry/wire"
)

// MaxResponse bounds any registry response.
const MaxResponse = 8 << 20

// Config configures a Client. Origin, LogKey and TrustAuthority pin the
// registry: they come from configuration, not from the registry.
type Config struct {
	BaseURL        string
	HTTPClient     *http.Client
	Origin         string
	LogKey         string // note verifier key: name+hash+base64
	TrustAuthority string
	Now            func() time.Time
	// AccreditationsTTL, when positive, lets Accreditations reuse the
	// trust authority's verified chain for that long instead of fetching
	// and replaying it on every call. The chain grows with every
	// accreditation, and a wallet compiled to WebAssembly verifies each
	// operation's signature tens of times slower than native code; an
	// accreditation revoked meanwhile is seen up to this much later.
	// Zero: no reuse (verifiers keep their own caches).
	AccreditationsTTL time.Duration
}

// Client is a verifying did:tong client.
type Client struct {
	cfg     Config
	base    string
	http    *http.Client
	tracker *didregistry.Tracker

	mu        sync.Mutex // guards accs and accsUntil
	accs      []Accreditation
	accsUntil time.Time
}

var _ did.Resolver = (*Client)(nil)

// New makes a client.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("didregistry/client: BaseURL %q is not an http(s) URL", cfg.BaseURL)
	}
	v, err := note.NewVerifier(cfg.LogKey)
	if err != nil {
		return nil, fmt.Errorf("didregistry/client: LogKey: %w", err)
	}
	if v.Name() != cfg.Origin {
		return nil, fmt.Errorf("didregistry/client: the log key names %q, not the origin %q", v.Name(), cfg.Origin)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Client{cfg: cfg, base: strings.TrimSuffix(cfg.BaseURL, "/"), http: cfg.HTTPClient}
	c.tracker = didregistry.NewTracker(cfg.Origin, v, c.consistency)
	return c, nil
}

// Discover fetches a registry's GET /registry/info: the origin, log key
// and trust authority to pin in a Config. Trusting what the registry
// says about itself is trust on first use: call it once (when a wallet is
// created) and keep the answer, rather than on every start.
func Discover(ctx context.Context, baseURL string, hc *http.Client) (Config, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	c := &Client{base: strings.TrimSuffix(baseURL, "/"), http: hc}
	var info wire.Info
	if _, err := c.get(ctx, "/registry/info", &info); err != nil {
		return Config{}, err
	}
	if info.Origin == "" || info.LogKey == "" {
		return Config{}, errors.New("didregistry/client: /registry/info names no origin or log key")
	}
	return Config{BaseURL: baseURL, HTTPClient: hc, Origin: info.Origin, LogKey: info.LogKey, TrustAuthority: info.TrustAuthority}, nil
}

// Tracker exposes the checkpoint tracker (its Latest is the newest
// checkpoint seen).
func (c *Client) Tracker() *didregistry.Tracker { return c.tracker }

func (c *Client) get(ctx context.Context, path string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("didregistry/client: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return resp.StatusCode, err
	}
	if len(body) > MaxResponse {
		return resp.StatusCode, errors.New("didregistry/client: response too large")
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		json.Unmarshal(body, &e)
		return resp.StatusCode, &didregistry.Error{Code: didregistry.Code(e.Error), Description: fmt.Sprintf("GET %s: %d %s", path, resp.StatusCode, e.Description)}
	}
	return resp.StatusCode, json.Unmarshal(body, v)
}

func (c *Client) consistency(old, new int64) (tlog.TreeProof, error) {
	var resp struct {
		Proof []string `json:"proof"`
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.get(ctx, "/log/proof/consistency?old="+strconv.FormatInt(old, 10)+"&new="+strconv.FormatInt(new, 10), &resp); err != nil {
		return nil, err
	}
	return decodeHashes(resp.Proof)
}

func decodeHashes(in []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(in))
	for i, s := range in {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return nil, errors.New("didregistry/client: malformed proof hash")
		}
		copy(out[i][:], b)
	}
	return out, nil
}

// VerifiedChain is a DID's chain after every check.
type VerifiedChain struct {
	DID        string
	States     []*didregistry.State
	Operations []*didregistry.Operation
	Checkpoint didregistry.Checkpoint
	Signed     []byte
	Proofs     []wire.Proof
}

// Chain fetches and verifies id's whole chain.
func (c *Client) Chain(ctx context.Context, id string) (*VerifiedChain, error) {
	var resp wire.ChainResponse
	if _, err := c.get(ctx, "/dids/"+url.PathEscape(id)+"/log", &resp); err != nil {
		return nil, err
	}
	if resp.DID != id || len(resp.Entries) == 0 {
		return nil, &didregistry.Error{Code: didregistry.CodeNotFound, Description: id + " has no operations"}
	}
	cp, err := c.tracker.Update([]byte(resp.Checkpoint))
	if err != nil {
		return nil, err
	}
	vc := &VerifiedChain{DID: id, Checkpoint: cp, Signed: []byte(resp.Checkpoint)}
	chain := make([]didregistry.Entry, len(resp.Entries))
	for i, e := range resp.Entries {
		leaf := []byte(e.Operation)
		proof, err := decodeHashes(e.InclusionProof)
		if err != nil {
			return nil, err
		}
		if err := tlog.CheckRecord(proof, cp.Size, cp.Hash, e.LogIndex, tlog.RecordHash(leaf)); err != nil {
			return nil, &didregistry.Error{Code: didregistry.CodeInvalidOperation, Description: fmt.Sprintf("entry %d is not in the checkpointed log", e.LogIndex), Err: err}
		}
		chain[i] = didregistry.Entry{Index: e.LogIndex, Leaf: leaf}
		vc.Proofs = append(vc.Proofs, wire.Proof{LogIndex: e.LogIndex, Checkpoint: resp.Checkpoint, InclusionProof: e.InclusionProof})
		op, err := didregistry.ParseOperation(leaf)
		if err != nil {
			return nil, err
		}
		if op.DID != id {
			return nil, &didregistry.Error{Code: didregistry.CodeInvalidOperation, Description: "the chain holds another DID's operation"}
		}
		vc.Operations = append(vc.Operations, op)
	}
	states, err := didregistry.Replay(didregistry.Rules{TrustAuthority: c.cfg.TrustAuthority}, chain, c.cfg.Now())
	if err != nil {
		return nil, err
	}
	vc.States = states
	return vc, nil
}

// Resolve resolves a did:tong, verifying everything (did.Resolver).
func (c *Client) Resolve(ctx context.Context, id string, opts did.ResolveOptions) (*did.Result, error) {
	if !strings.HasPrefix(id, didregistry.Prefix) {
		return nil, &did.Error{Code: did.CodeMethodNotSupported, Description: "not a did:tong"}
	}
	vc, err := c.Chain(ctx, id)
	if err != nil {
		if didregistry.CodeOf(err) == didregistry.CodeNotFound {
			return nil, &did.Error{Code: did.CodeNotFound, Description: id + " is not registered", Err: err}
		}
		return nil, &did.Error{Code: did.CodeInternalError, Description: "the registry's answer does not verify", Err: err}
	}
	res, st, err := didregistry.ResolveStates(id, vc.States, opts)
	if res != nil {
		for i, s := range vc.States {
			if s == st {
				raw, _ := json.Marshal(vc.Proofs[i])
				res.ResolutionMetadata.Proof = []json.RawMessage{raw}
			}
		}
	}
	return res, err
}

// Accreditation is an accreditation replayed from the trust authority's
// verified chain.
type Accreditation struct {
	didregistry.Accreditation
	VersionID string
	RevokedAt time.Time // zero if live
}

// Accreditations replays the trust authority's chain and returns every
// accreditation it made, with revocations applied.
func (c *Client) Accreditations(ctx context.Context) ([]Accreditation, error) {
	if c.cfg.TrustAuthority == "" {
		return nil, errors.New("didregistry/client: no trust authority configured")
	}
	if c.cfg.AccreditationsTTL > 0 {
		c.mu.Lock()
		accs, until := c.accs, c.accsUntil
		c.mu.Unlock()
		if accs != nil && c.cfg.Now().Before(until) {
			return slices.Clone(accs), nil
		}
	}
	vc, err := c.Chain(ctx, c.cfg.TrustAuthority)
	if err != nil {
		return nil, err
	}
	var out []Accreditation
	for i, op := range vc.Operations {
		switch op.Type {
		case didregistry.OpAccredit:
			out = append(out, Accreditation{Accreditation: *op.Accreditation, VersionID: vc.States[i].VersionID()})
		case didregistry.OpRevoke:
			for k := range out {
				if out[k].VersionID == op.Revokes && out[k].RevokedAt.IsZero() {
					out[k].RevokedAt = vc.States[i].VersionTime
				}
			}
		}
	}
	if c.cfg.AccreditationsTTL > 0 {
		c.mu.Lock()
		c.accs, c.accsUntil = slices.Clone(out), c.cfg.Now().Add(c.cfg.AccreditationsTTL)
		if c.accs == nil {
			c.accs = []Accreditation{}
		}
		c.mu.Unlock()
	}
	return out, nil
}

// Accredited reports whether subject held role for item (a vct or a
// purpose) at time at.
func (c *Client) Accredited(ctx context.Context, subject, role, item string, at time.Time) (bool, error) {
	as, err := c.Accreditations(ctx)
	if err != nil {
		return false, err
	}
	return AccreditedIn(as, subject, role, item, at), nil
}

// AccreditedIn reports whether the accreditations list one that lets
// subject act in role for item at time at: in scope, within its validity,
// and not yet revoked. Verifiers that cache the list evaluate it with this.
func AccreditedIn(as []Accreditation, subject, role, item string, at time.Time) bool {
	for _, a := range as {
		if a.Subject != subject || a.Role != role || !slices.Contains(a.Scope, item) {
			continue
		}
		from, _ := time.Parse(time.RFC3339, a.ValidFrom)
		if at.Before(from) {
			continue
		}
		if a.ValidUntil != "" {
			if until, _ := time.Parse(time.RFC3339, a.ValidUntil); !at.Before(until) {
				continue
			}
		}
		if !a.RevokedAt.IsZero() && !at.Before(a.RevokedAt) {
			continue
		}
		return true
	}
	return false
}

// DIDForIssuerURL finds the DID the trust authority bound issuer URL u to,
// and checks (by resolving it) that its document names u. With a trust
// authority configured, it also checks the binding itself in the
// authority's verified chain: the newest accreditation naming u as its
// credentialIssuer must name that DID, so the registry cannot substitute
// another (docs/did-method-tong.md §8).
func (c *Client) DIDForIssuerURL(ctx context.Context, u string) (string, *did.Document, error) {
	var resp wire.IssuerResponse
	if _, err := c.get(ctx, "/registry/issuers?url="+url.QueryEscape(u), &resp); err != nil {
		return "", nil, err
	}
	if c.cfg.TrustAuthority != "" {
		as, err := c.Accreditations(ctx)
		if err != nil {
			return "", nil, err
		}
		bound := ""
		for _, a := range as {
			if a.CredentialIssuer == strings.TrimSuffix(u, "/") {
				bound = a.Subject
			}
		}
		if bound != resp.DID {
			return "", nil, &didregistry.Error{Code: didregistry.CodeNotFound, Description: "the trust authority did not bind issuer " + u + " to " + resp.DID}
		}
	}
	res, err := c.Resolve(ctx, resp.DID, did.ResolveOptions{})
	if err != nil {
		return "", nil, err
	}
	raw, _ := json.Marshal(res.Document)
	if !slices.Contains(didregistry.IssuerURLs(raw), strings.TrimSuffix(u, "/")) {
		return "", nil, &didregistry.Error{Code: didregistry.CodeNotFound, Description: resp.DID + " does not name issuer " + u}
	}
	return resp.DID, res.Document, nil
}

// Submit posts a signed operation and returns the registry's receipt.
func (c *Client) Submit(ctx context.Context, op *didregistry.Operation) (wire.Receipt, error) {
	leaf, err := op.Canonical()
	if err != nil {
		return wire.Receipt{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/registry/operations", bytes.NewReader(leaf))
	if err != nil {
		return wire.Receipt{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return wire.Receipt{}, fmt.Errorf("didregistry/client: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		json.Unmarshal(body, &e)
		return wire.Receipt{}, &didregistry.Error{Code: didregistry.Code(e.Error), Description: e.Description}
	}
	var r wire.Receipt
	return r, json.Unmarshal(body, &r)
}
