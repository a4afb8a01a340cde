package verifier

import (
	"context"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry/client"
	"github.com/tongid/tong/internal/ids"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/text"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Component is the verifier's name in schema_migrations.
const Component = "verifier"

// Defaults.
const (
	DefaultSessionTTL = 5 * time.Minute
	DefaultCacheTTL   = 5 * time.Minute
	DefaultMaxStale   = time.Hour
	// MaxResponseBody bounds a direct_post body.
	MaxResponseBody = 256 << 10
	// DefaultMaxCacheBytes is Config.MaxCacheBytes's default.
	DefaultMaxCacheBytes = 32 << 20
	// DefaultPoll is Config.Poll's default.
	DefaultPoll = time.Second
)

// KeySource gives organisations' request-signing keys by name.
type KeySource interface {
	Load(name string) (*keys.Signer, error)
}

// Registry is what the verifier needs of the did:tong registry client.
type Registry interface {
	Accreditations(ctx context.Context) ([]client.Accreditation, error)
	DIDForIssuerURL(ctx context.Context, u string) (string, *did.Document, error)
}

// Config configures a Service.
type Config struct {
	DB       *store.DB
	Keys     KeySource
	Registry Registry
	// PublicURL is where wallets reach this server (request_uri,
	// response_uri are built on it).
	PublicURL string
	// TrustList, if set, is the city CA (and any other trusted root) that
	// organisations' certificates must chain to (SetCertificate).
	TrustList *TrustList
	// HTTPClient fetches issuer metadata, status lists and sends webhooks.
	HTTPClient        *http.Client
	AllowLoopbackHTTP bool
	Now               func() time.Time
	Logger            *slog.Logger
	SessionTTL        time.Duration
	// CacheTTL is how long issuer keys, registry data and status lists are
	// used before they are fetched again; MaxStale is how long past that a
	// counter keeps working on them when the fetch fails (offline), with
	// the staleness reported in each result.
	CacheTTL time.Duration
	MaxStale time.Duration
	// MaxCacheBytes bounds each trust cache (issuer documents, issuer
	// keys, status lists) and the pending sessions kept in memory, in
	// bytes (0: DefaultMaxCacheBytes).
	MaxCacheBytes int64
	// Poll is how often Wait re-reads a pending session when no
	// notification arrives (0: DefaultPoll).
	Poll time.Duration
}

// Service is the verifier for any number of organisations and counters.
type Service struct {
	cfg      Config
	orgDB    orgStore
	sessions sessionStore
	notifier store.Notifier
	trust    *trust
	vf       *credential.Verifier
	hub      *hub

	mu       sync.Mutex
	orgs     map[string]*Org
	counters map[string]string // counter id → org slug (never changes)
	purposes map[string]*Purpose

	// pending caches the sessions this process created until they are
	// answered or expire, sparing the response path a read. Another
	// replica's sessions are read from the database.
	pending      sync.Map // id → *sessionRow
	pendingBytes atomic.Int64
	created      atomic.Int64
}

// counterOrg returns the organisation a counter belongs to.
func (s *Service) counterOrg(ctx context.Context, counter string) (*Org, error) {
	s.mu.Lock()
	org, ok := s.counters[counter]
	s.mu.Unlock()
	if !ok {
		var err error
		if org, err = s.orgDB.counterOrg(ctx, counter); err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.counters[counter] = org
		s.mu.Unlock()
	}
	return s.Org(ctx, org)
}

// New opens the verifier and applies its schema.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Keys == nil || cfg.Registry == nil || cfg.PublicURL == "" {
		return nil, errors.New("verifier: DB, Keys, Registry and PublicURL are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.MaxStale == 0 {
		cfg.MaxStale = DefaultMaxStale
	}
	if cfg.MaxCacheBytes == 0 {
		cfg.MaxCacheBytes = DefaultMaxCacheBytes
	}
	if cfg.Poll == 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Poll < 0 {
		return nil, errors.New("verifier: Poll must not be negative")
	}
	if cfg.MaxCacheBytes < 64<<10 {
		return nil, errors.New("verifier: MaxCacheBytes must be at least 64 KiB")
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	st, err := openStore(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, orgDB: st, sessions: st, notifier: cfg.DB.Notifier(), orgs: map[string]*Org{}, counters: map[string]string{}, hub: newHub()}
	s.trust = newTrust(cfg)
	s.vf = &credential.Verifier{Keys: &credential.IssuerKeys{Web: s.trust.webKeys(), Check: s.trust.checkIssuerKey}, Now: cfg.Now}
	if err := s.loadPurposes(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Org is a verifying organisation.
type Org struct {
	Slug    string `json:"slug"`
	Name    string `json:"name"`
	DID     string `json:"did"`
	KeyName string `json:"-"`
	KeyID   string `json:"key_id"`
	// Webhook, if set, receives every result as a signed JWT.
	Webhook string `json:"webhook,omitempty"`
	// X5C is the organisation's certificate chain for the x509_hash
	// client identifier prefix (HAIP), leaf first; see SetCertificate.
	X5C []string `json:"x5c,omitempty"`

	signer *keys.Signer
}

// AddOrg registers an organisation.
func (s *Service) AddOrg(ctx context.Context, o Org) error {
	if o.Slug == "" || o.Name == "" || !strings.HasPrefix(o.DID, "did:") || o.KeyName == "" || !strings.HasPrefix(o.KeyID, o.DID+"#") {
		return errorf(CodeInvalidRequest, "an organisation needs a slug, name, DID, key name and a key id under its DID")
	}
	if err := text.Name("organisation name", o.Name); err != nil {
		return err
	}
	if _, err := s.cfg.Keys.Load(o.KeyName); err != nil {
		return fmt.Errorf("verifier: key %s: %w", o.KeyName, err)
	}
	err := s.orgDB.addOrg(ctx, &o, s.cfg.Now())
	if errors.Is(err, errDuplicate) {
		return errorf(CodeConflict, "organisation %s exists", o.Slug)
	}
	return err
}

// Org returns an organisation.
func (s *Service) Org(ctx context.Context, slug string) (*Org, error) {
	s.mu.Lock()
	o, ok := s.orgs[slug]
	s.mu.Unlock()
	if ok {
		return o, nil
	}
	o, err := s.orgDB.org(ctx, slug)
	if errors.Is(err, errNoRow) {
		return nil, errorf(CodeNotFound, "no organisation %s", slug)
	}
	if err != nil {
		return nil, err
	}
	if o.signer, err = s.cfg.Keys.Load(o.KeyName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.orgs[slug] = o
	s.mu.Unlock()
	return o, nil
}

// Counter is a verifier client: a desk or kiosk of an organisation.
type Counter struct {
	ID       string   `json:"id"`
	Org      string   `json:"org"`
	Name     string   `json:"name"`
	Purposes []string `json:"purposes"`
}

// AddCounter creates a counter allowed the given purposes, and its first
// API token (shown once).
func (s *Service) AddCounter(ctx context.Context, org, name string, purposes []string) (*Counter, string, error) {
	if err := text.Name("counter name", name); err != nil {
		return nil, "", err
	}
	if _, err := s.Org(ctx, org); err != nil {
		return nil, "", err
	}
	for _, p := range purposes {
		if _, err := s.Purpose(p); err != nil {
			return nil, "", err
		}
	}
	c := &Counter{ID: "ctr_" + ids.Random(9), Org: org, Name: name, Purposes: purposes}
	if err := s.orgDB.addCounter(ctx, c, s.cfg.Now()); err != nil {
		return nil, "", err
	}
	tok, err := s.CreateToken(ctx, c.ID)
	return c, tok, err
}

// TokenPrefix starts every counter API token.
const TokenPrefix = "tong_ct_"

// CreateToken makes another API token for a counter.
func (s *Service) CreateToken(ctx context.Context, counter string) (string, error) {
	tok := TokenPrefix + ids.Random(32)
	h := sha256.Sum256([]byte(tok))
	err := s.orgDB.addToken(ctx, "vtk_"+ids.Random(8), counter, h[:], s.cfg.Now())
	return tok, err
}

// RevokeTokens revokes every token of a counter.
func (s *Service) RevokeTokens(ctx context.Context, counter string) error {
	return s.orgDB.revokeTokens(ctx, counter, s.cfg.Now())
}

// Authenticate returns the counter an API token belongs to.
func (s *Service) Authenticate(ctx context.Context, token string) (*Counter, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 128 {
		return nil, errorf(CodeUnauthorized, "missing or malformed counter API token")
	}
	h := sha256.Sum256([]byte(token))
	c, err := s.orgDB.tokenCounter(ctx, h[:])
	if errors.Is(err, errNoRow) {
		return nil, errorf(CodeUnauthorized, "counter API token is unknown or revoked")
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (s *Service) loadPurposes(ctx context.Context) error {
	ps, err := Presets()
	if err != nil {
		return err
	}
	defs, err := s.orgDB.purposeDefinitions(ctx)
	if err != nil {
		return err
	}
	for _, def := range defs {
		p, err := ParsePurpose(def)
		if err != nil {
			return err
		}
		ps[p.ID] = p
	}
	s.mu.Lock()
	s.purposes = ps
	s.mu.Unlock()
	return nil
}

// PutPurpose creates or replaces a purpose.
func (s *Service) PutPurpose(ctx context.Context, raw []byte) (*Purpose, error) {
	p, err := ParsePurpose(raw)
	if err != nil {
		return nil, err
	}
	if err := s.orgDB.putPurpose(ctx, p.ID, raw, s.cfg.Now()); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.purposes[p.ID] = p
	s.mu.Unlock()
	return p, nil
}

// Purpose returns a purpose by id.
func (s *Service) Purpose(id string) (*Purpose, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.purposes[id]
	if !ok {
		return nil, errorf(CodeUnknownPurpose, "no purpose %q", id)
	}
	return p, nil
}

// Purposes lists every purpose.
func (s *Service) Purposes() []*Purpose {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Purpose, 0, len(s.purposes))
	for _, p := range s.purposes {
		out = append(out, p)
	}
	return out
}
