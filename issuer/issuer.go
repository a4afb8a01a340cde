package issuer

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/tongid/tong/internal/ids"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/text"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Component is the issuer's name in schema_migrations.
const Component = "issuer"

// Defaults for Config.
const (
	DefaultBatchSize      = 5
	DefaultOfferTTL       = 15 * time.Minute
	MaxOfferTTL           = 7 * 24 * time.Hour
	DefaultAccessTokenTTL = 5 * time.Minute
	DefaultNonceTTL       = 5 * time.Minute
	DefaultProofMaxAge    = 5 * time.Minute
	DefaultMaxTxTries     = 5
	DefaultStatusListSize = 1 << 17 // 131,072: herd privacy
	DefaultStatusTTL      = 5 * time.Minute
	DefaultDeferInterval  = 5 * time.Second
	TxCodeLength          = 6
	// Skew is the clock skew allowed on proof and DPoP iat.
	Skew = 60 * time.Second
)

// KeySource gives the agencies' signing keys by name.
type KeySource interface {
	Load(name string) (*keys.Signer, error)
}

// Config configures a Service.
type Config struct {
	DB   *store.DB
	Keys KeySource
	// Secret (32 bytes) keys the access tokens, nonces and tx_code MACs.
	// Every replica of the issuer must share it.
	Secret []byte
	// AllowLoopbackHTTP lets issuer URLs use http on 127.0.0.1/::1/localhost
	// (the demo). Otherwise they must be https.
	AllowLoopbackHTTP bool
	Now               func() time.Time
	Logger            *slog.Logger
	// Authenticator, when set, turns on the authorization code flow
	// (PAR, authorization endpoint, authorization_code grant): it
	// identifies the citizen by a presentation of their identity
	// credential.
	Authenticator Authenticator
	// ClientAttesters are the wallet attesters whose Client Attestations
	// (OAuth-Client-Attestation) are accepted; a request that sends one
	// from any other attester is refused.
	ClientAttesters []ClientAttester

	BatchSize      int           // batch_credential_issuance.batch_size
	OfferTTL       time.Duration // default pre-authorized code lifetime
	AccessTokenTTL time.Duration
	NonceTTL       time.Duration
	ProofMaxAge    time.Duration // how old a proof's iat may be
	MaxTxTries     int           // wrong tx_codes before an offer locks
	StatusListSize int           // entries per status list (≥ 131,072)
	StatusTTL      time.Duration // status list ttl and Cache-Control max-age
}

// Service is an issuing service for any number of agencies.
type Service struct {
	cfg      Config
	st       issuerStore
	tokenKey []byte // access tokens
	nonceKey []byte // c_nonce
	macKey   []byte // tx_code and pre-authorized code MACs

	mu       sync.Mutex
	agencies map[string]*Agency
	types    map[string]map[string]*CredentialType
	lists    map[string]*cachedList
}

// New opens the issuer: it applies the schema and checks the config.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Keys == nil {
		return nil, errors.New("issuer: DB and Keys are required")
	}
	if len(cfg.Secret) != 32 {
		return nil, errors.New("issuer: Secret must be 32 bytes")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	setDefault(&cfg.BatchSize, DefaultBatchSize)
	setDefault(&cfg.OfferTTL, DefaultOfferTTL)
	setDefault(&cfg.AccessTokenTTL, DefaultAccessTokenTTL)
	setDefault(&cfg.NonceTTL, DefaultNonceTTL)
	setDefault(&cfg.ProofMaxAge, DefaultProofMaxAge)
	setDefault(&cfg.MaxTxTries, DefaultMaxTxTries)
	setDefault(&cfg.StatusListSize, DefaultStatusListSize)
	setDefault(&cfg.StatusTTL, DefaultStatusTTL)
	if cfg.BatchSize < 1 || cfg.BatchSize > 100 {
		return nil, errors.New("issuer: BatchSize must be between 1 and 100")
	}
	if cfg.StatusListSize < DefaultStatusListSize {
		return nil, fmt.Errorf("issuer: StatusListSize must be at least %d for herd privacy", DefaultStatusListSize)
	}
	applied, err := cfg.DB.Migrate(ctx, Component, mustSub(migrations, "migrations"))
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, st: newSQLStore(cfg.DB), agencies: map[string]*Agency{},
		types: map[string]map[string]*CredentialType{}, lists: map[string]*cachedList{}}
	if applied > 0 {
		if err := s.fillVCTOwners(ctx); err != nil {
			return nil, err
		}
	}
	for _, k := range []struct {
		dst  *[]byte
		info string
	}{{&s.tokenKey, "tong issuer access token"}, {&s.nonceKey, "tong issuer c_nonce"}, {&s.macKey, "tong issuer code mac"}} {
		b, err := hkdf.Key(sha256.New, cfg.Secret, nil, k.info, 32)
		if err != nil {
			return nil, err
		}
		*k.dst = b
	}
	return s, nil
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v == 0 {
		*v = d
	}
}

// BatchSize is the most credentials one request may get.
func (s *Service) BatchSize() int { return s.cfg.BatchSize }

// StatusTTL is how long a status list may be cached.
func (s *Service) StatusTTL() time.Duration { return s.cfg.StatusTTL }

// Agency is an issuing agency.
type Agency struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
	// IssuerURL is the Credential Issuer Identifier, the credentials' iss.
	IssuerURL string `json:"issuer_url"`
	DID       string `json:"did"`
	// KeyName names the signing key in the KeySource; KeyID is the kid
	// the credentials carry: a DID URL into the agency's DID document,
	// and the kid of the key in /.well-known/jwt-vc-issuer.
	KeyName string `json:"-"`
	KeyID   string `json:"key_id"`
	// X5C is the agency's certificate chain from the city CA (HAIP),
	// leaf first; its credentials carry it in their x5c header. See
	// SetCertificate.
	X5C []string `json:"x5c,omitempty"`
	// Profile is "" or ProfileHAIP (see SetProfile and RequiresDPoP).
	Profile string `json:"profile,omitempty"`

	signer *keys.Signer
}

// Signer is the agency's credential signing key.
func (a *Agency) Signer() *keys.Signer { return a.signer }

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// AddAgency registers an agency. Its issuer URL's path must be
// /issuers/<slug>, where this server routes it.
func (s *Service) AddAgency(ctx context.Context, a Agency) error {
	if !slugRE.MatchString(a.Slug) {
		return errorf(CodeInvalidRequest, "agency slug must match %s", slugRE)
	}
	if a.Name == "" || a.DID == "" || a.KeyName == "" || a.KeyID == "" {
		return errorf(CodeInvalidRequest, "agency needs a name, DID, key name and key id")
	}
	if err := text.Name("agency name", a.Name); err != nil {
		return err
	}
	u, err := url.Parse(a.IssuerURL)
	if err != nil || u.RawQuery != "" || u.Fragment != "" || u.Host == "" {
		return errorf(CodeInvalidRequest, "issuer URL %q is not an absolute URL without query or fragment", a.IssuerURL)
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && s.cfg.AllowLoopbackHTTP && isLoopback(u.Hostname())) {
		return errorf(CodeInvalidRequest, "issuer URL must be https (http only on loopback in demo mode)")
	}
	if u.Path != "/issuers/"+a.Slug {
		return errorf(CodeInvalidRequest, "issuer URL path must be /issuers/%s", a.Slug)
	}
	if _, err := s.cfg.Keys.Load(a.KeyName); err != nil {
		return fmt.Errorf("issuer: agency key %q: %w", a.KeyName, err)
	}
	if err := s.st.insertAgency(ctx, &a, s.cfg.Now().Unix()); err != nil {
		if errors.Is(err, errDuplicate) {
			return errorf(CodeConflict, "agency %q or its issuer URL exists", a.Slug)
		}
		return err
	}
	return s.audit(ctx, s.st, a.Slug, "operator", "agency.create", a.Slug, a.DID)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Agency returns an agency by slug.
func (s *Service) Agency(ctx context.Context, slug string) (*Agency, error) {
	s.mu.Lock()
	a, ok := s.agencies[slug]
	s.mu.Unlock()
	if ok {
		return a, nil
	}
	a, err := s.st.agency(ctx, slug)
	if errors.Is(err, errNoRecord) {
		return nil, errorf(CodeNotFound, "no agency %q", slug)
	}
	if err != nil {
		return nil, err
	}
	if a.signer, err = s.cfg.Keys.Load(a.KeyName); err != nil {
		return nil, fmt.Errorf("issuer: agency %s key: %w", slug, err)
	}
	if a.X5C, err = s.agencyX5C(ctx, slug); err != nil {
		return nil, err
	}
	if a.Profile, err = s.st.agencyProfile(ctx, slug); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.agencies[slug] = a
	s.mu.Unlock()
	return a, nil
}

// Agencies lists every agency.
func (s *Service) Agencies(ctx context.Context) ([]*Agency, error) {
	slugs, err := s.st.agencySlugs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Agency, 0, len(slugs))
	for _, slug := range slugs {
		a, err := s.Agency(ctx, slug)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// PutType creates or replaces a credential type of an agency.
func (s *Service) PutType(ctx context.Context, slug, actor string, t *CredentialType) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if _, err := s.Agency(ctx, slug); err != nil {
		return err
	}
	def, err := json.Marshal(t)
	if err != nil {
		return err
	}
	err = s.st.writeTx(ctx, func(tx storeTx) error {
		if err := s.claimVCT(ctx, tx, slug, t.VCT); err != nil {
			return err
		}
		if err := tx.putType(ctx, slug, t.ID, string(def), s.cfg.Now().Unix()); err != nil {
			return err
		}
		return s.audit(ctx, tx, slug, actor, "type.put", t.ID, t.VCT)
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.types, slug)
	s.mu.Unlock()
	return nil
}

// claimVCT makes vct the agency's, or refuses with CodeVCTTaken when it
// is another agency's: one that defined it first, or whose issuer URL it
// sits under. Without this an agency could define a type with another's
// vct and its wallets would show one agency's credential as another's.
func (s *Service) claimVCT(ctx context.Context, tx storeTx, slug, vct string) error {
	others, err := tx.otherAgencyURLs(ctx, slug)
	if err != nil {
		return err
	}
	var under string
	for _, o := range others {
		if vct == o.IssuerURL || strings.HasPrefix(vct, strings.TrimSuffix(o.IssuerURL, "/")+"/") {
			under = o.Slug
		}
	}
	if under != "" {
		return errorf(CodeVCTTaken, "vct %q sits under agency %s's issuer URL; use a vct of your own", vct, under)
	}
	owner, err := tx.claimVCT(ctx, vct, slug, s.cfg.Now().Unix())
	if err != nil {
		return err
	}
	if owner != slug {
		return errorf(CodeVCTTaken, "vct %q belongs to agency %s; use a vct of your own", vct, owner)
	}
	return nil
}

// fillVCTOwners gives each vct already in issuer_types to the agency that
// stored it first (the oldest updated_at), once, when the owners table is
// new.
func (s *Service) fillVCTOwners(ctx context.Context) error {
	return s.st.writeTx(ctx, func(tx storeTx) error {
		all, err := tx.allTypes(ctx)
		if err != nil {
			return err
		}
		for _, o := range all {
			var t CredentialType
			if json.Unmarshal([]byte(o.Definition), &t) != nil || t.VCT == "" {
				continue
			}
			if _, err := tx.claimVCT(ctx, t.VCT, o.Agency, o.UpdatedAt); err != nil {
				return err
			}
		}
		return nil
	})
}

// Types returns an agency's credential types by id.
func (s *Service) Types(ctx context.Context, slug string) (map[string]*CredentialType, error) {
	s.mu.Lock()
	ts, ok := s.types[slug]
	s.mu.Unlock()
	if ok {
		return ts, nil
	}
	defs, err := s.st.typeDefinitions(ctx, slug)
	if err != nil {
		return nil, err
	}
	ts = map[string]*CredentialType{}
	for _, def := range defs {
		var t CredentialType
		if err := json.Unmarshal([]byte(def), &t); err != nil {
			return nil, fmt.Errorf("issuer: stored type: %w", err)
		}
		ts[t.ID] = &t
	}
	s.mu.Lock()
	s.types[slug] = ts
	s.mu.Unlock()
	return ts, nil
}

// Type returns one credential type.
func (s *Service) Type(ctx context.Context, slug, id string) (*CredentialType, error) {
	ts, err := s.Types(ctx, slug)
	if err != nil {
		return nil, err
	}
	t, ok := ts[id]
	if !ok {
		return nil, errorf(CodeUnknownType, "agency %s has no credential type %q", slug, id)
	}
	return t, nil
}

// APITokenPrefix starts every staff API token, so that secret scanners can
// find leaked ones.
const APITokenPrefix = "tong_at_"

// CreateAPIToken makes a staff API token for an agency. The token is shown
// once; only its hash is stored.
func (s *Service) CreateAPIToken(ctx context.Context, slug, actor, label string) (token, id string, err error) {
	if err := text.Name("label", label); err != nil {
		return "", "", err
	}
	if _, err := s.Agency(ctx, slug); err != nil {
		return "", "", err
	}
	token = APITokenPrefix + ids.Random(32)
	id = "tok_" + ids.Random(8)
	h := sha256.Sum256([]byte(token))
	if err := s.st.insertAPIToken(ctx, id, slug, h[:], label, s.cfg.Now().Unix()); err != nil {
		return "", "", err
	}
	return token, id, s.audit(ctx, s.st, slug, actor, "token.create", id, label)
}

// RevokeAPIToken revokes a staff API token by id.
func (s *Service) RevokeAPIToken(ctx context.Context, slug, actor, id string) error {
	ok, err := s.st.revokeAPIToken(ctx, slug, id, s.cfg.Now().Unix())
	if err != nil {
		return err
	}
	if !ok {
		return errorf(CodeNotFound, "no active token %q", id)
	}
	return s.audit(ctx, s.st, slug, actor, "token.revoke", id, "")
}

// Authenticate checks a staff API token for an agency and returns the
// token's id, which the audit log names as the actor.
func (s *Service) Authenticate(ctx context.Context, slug, token string) (string, error) {
	agency, id, err := s.TokenAgency(ctx, token)
	if err != nil {
		return "", err
	}
	if agency != slug {
		return "", errorf(CodeUnauthorized, "API token is unknown, revoked, or for another agency")
	}
	return id, nil
}

// TokenAgency returns the agency a staff API token belongs to, and the
// token's id.
func (s *Service) TokenAgency(ctx context.Context, token string) (agency, id string, err error) {
	if !strings.HasPrefix(token, APITokenPrefix) || len(token) > 128 {
		return "", "", errorf(CodeUnauthorized, "missing or malformed API token")
	}
	h := sha256.Sum256([]byte(token))
	id, agency, revoked, err := s.st.apiToken(ctx, h[:])
	if errors.Is(err, errNoRecord) || (err == nil && revoked) {
		return "", "", errorf(CodeUnauthorized, "API token is unknown, revoked, or for another agency")
	}
	if err != nil {
		return "", "", err
	}
	return agency, id, nil
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID     string    `json:"id"`
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Object string    `json:"object"`
	Detail string    `json:"detail,omitempty"`
}

// audit records an action. detail must never hold claim values.
// w is the store, or a transaction to write it in.
func (s *Service) audit(ctx context.Context, w recorder, agency, actor, action, object, detail string) error {
	now := s.cfg.Now()
	return w.insertAudit(ctx, auditRecord{ID: fmt.Sprintf("%016x%s", now.UnixNano(), ids.Random(6)), At: now.UnixNano(),
		Agency: agency, Actor: actor, Action: action, Object: object, Detail: detail})
}

// Audit returns an agency's newest audit entries, newest first.
func (s *Service) Audit(ctx context.Context, slug string, limit int) ([]AuditEntry, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return s.st.auditEntries(ctx, slug, limit)
}

// seal and open protect the access tokens and nonces the issuer hands out
// and gets back: XChaCha20-Poly1305 under a key derived from Secret, with
// a purpose string as associated data.
func seal(key []byte, purpose string, plain []byte) string {
	aead, _ := chacha20poly1305.NewX(key)
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, []byte(purpose)))
}

func open(key []byte, purpose, s string) ([]byte, bool) {
	return openMax(key, purpose, s, 1024)
}

// openMax is open for sealed values up to max characters.
func openMax(key []byte, purpose, s string, max int) ([]byte, bool) {
	if len(s) > max {
		return nil, false
	}
	// Strict: a sealed value has exactly one spelling.
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	aead, _ := chacha20poly1305.NewX(key)
	if err != nil || len(b) < aead.NonceSize()+aead.Overhead() {
		return nil, false
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte(purpose))
	return plain, err == nil
}
