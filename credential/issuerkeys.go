package credential

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/internal/jose"
)

// IssuerKeyResolver finds the public key that should have signed a
// credential from issuer iss with header h. Implementations MUST return
// only keys the issuer controls, and an error (preferably an *Error with
// CodeIssuerUnknown or CodeIssuerRefused) otherwise.
type IssuerKeyResolver interface {
	ResolveIssuerKey(ctx context.Context, iss string, h Header) (crypto.PublicKey, error)
}

// IssuerKeyFunc adapts a function to IssuerKeyResolver.
type IssuerKeyFunc func(ctx context.Context, iss string, h Header) (crypto.PublicKey, error)

// ResolveIssuerKey calls f.
func (f IssuerKeyFunc) ResolveIssuerKey(ctx context.Context, iss string, h Header) (crypto.PublicKey, error) {
	return f(ctx, iss, h)
}

// StaticIssuerKeys maps issuer identifiers to their one key: for tests,
// tools, and a verifier with a fixed set of issuers.
type StaticIssuerKeys map[string]crypto.PublicKey

// ResolveIssuerKey returns the configured key for iss.
func (s StaticIssuerKeys) ResolveIssuerKey(_ context.Context, iss string, _ Header) (crypto.PublicKey, error) {
	if k, ok := s[iss]; ok {
		return k, nil
	}
	return nil, errf(CodeIssuerUnknown, "no key configured for issuer %q", iss)
}

// IssuerKeys is the resolver Tong uses: it dispatches on the form of iss
// and then lets a policy hook refuse the key.
//
//   - an https URL goes to Web (JWT VC Issuer Metadata by default), which
//     is how foreign wallets and verifiers find the key;
//   - a DID goes to DID, with kid a DID URL into the issuer's document.
//
// Check, when set, runs after a key is found. Tong's verifier uses it to
// require that the same key sits in the agency's did:tong document, which
// names the issuer URL, so that the registry's accreditation reaches the
// credential (docs/credential-profile.md).
type IssuerKeys struct {
	Web IssuerKeyResolver
	DID IssuerKeyResolver
	// X5C, when set, resolves credentials whose header carries an x5c
	// chain (HAIP 1.0), before Web and DID: see X509IssuerKeys.
	X5C   IssuerKeyResolver
	Check func(ctx context.Context, iss string, h Header, key crypto.PublicKey) error
}

// ResolveIssuerKey dispatches on iss.
func (k *IssuerKeys) ResolveIssuerKey(ctx context.Context, iss string, h Header) (crypto.PublicKey, error) {
	var r IssuerKeyResolver
	switch {
	case len(h.X5C) > 0 && k.X5C != nil:
		r = k.X5C
	case strings.HasPrefix(iss, "did:"):
		r = k.DID
	case strings.HasPrefix(iss, "https://"), strings.HasPrefix(iss, "http://"):
		r = k.Web
	}
	if r == nil {
		return nil, errf(CodeIssuerUnknown, "no way to resolve issuer %q", iss)
	}
	key, err := r.ResolveIssuerKey(ctx, iss, h)
	if err != nil {
		return nil, err
	}
	if k.Check != nil {
		if err := k.Check(ctx, iss, h, key); err != nil {
			return nil, &Error{Code: CodeIssuerRefused, Description: err.Error(), Err: err}
		}
	}
	return key, nil
}

// DIDIssuerKeys resolves a DID issuer's key: kid must be a DID URL into
// the issuer's own DID document (relative "#key" URLs are resolved against
// iss), authorized for assertionMethod.
type DIDIssuerKeys struct {
	Resolver did.Resolver
}

// ResolveIssuerKey resolves kid in iss's DID document.
func (d DIDIssuerKeys) ResolveIssuerKey(ctx context.Context, iss string, h Header) (crypto.PublicKey, error) {
	kid := h.Kid
	if kid == "" {
		return nil, errf(CodeIssuerUnknown, "a DID issuer's credential needs a kid")
	}
	if strings.HasPrefix(kid, "#") {
		kid = iss + kid
	}
	if !strings.HasPrefix(kid, iss+"#") {
		return nil, errf(CodeIssuerRefused, "kid %q is not a key of issuer %q", h.Kid, iss)
	}
	key, err := did.ResolveKey(ctx, d.Resolver, kid, did.AssertionMethod)
	if err != nil {
		return nil, &Error{Code: CodeIssuerUnknown, Description: err.Error(), Err: err}
	}
	return key, nil
}

// MaxMetadataSize bounds issuer metadata and JWKS documents.
const MaxMetadataSize = 64 << 10

// WellKnownJWTVCIssuer is the well-known suffix of JWT VC Issuer Metadata
// (draft-ietf-oauth-sd-jwt-vc-18 §5).
const WellKnownJWTVCIssuer = "/.well-known/jwt-vc-issuer"

// JWTVCIssuerMetadataURL returns where the metadata of issuer iss lives.
// Spec: draft-ietf-oauth-sd-jwt-vc-18 §5.1: the well-known string is
// "inserted between the host component and the path component, if any".
func JWTVCIssuerMetadataURL(iss string) (string, error) {
	u, err := url.Parse(iss)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", errf(CodeIssuerUnknown, "issuer %q is not an https URL without query or fragment", iss)
	}
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	return u.Scheme + "://" + u.Host + WellKnownJWTVCIssuer + path, nil
}

// JWTVCIssuerMetadata resolves keys through JWT VC Issuer Metadata: GET
// https://host/.well-known/jwt-vc-issuer/path, whose "issuer" must equal
// iss, then the key named by kid in "jwks" or in the document at
// "jwks_uri". Answers are cached for TTL.
type JWTVCIssuerMetadata struct {
	// Client makes the requests; nil means http.DefaultClient. Only https
	// is used, except that AllowLoopbackHTTP permits http to 127.0.0.1 and
	// ::1 (tests and the demo).
	Client            *http.Client
	AllowLoopbackHTTP bool
	// TTL is how long fetched keys are kept; zero means 5 minutes.
	TTL time.Duration

	mu    sync.Mutex
	cache map[string]cachedJWKS
}

type cachedJWKS struct {
	keys    []jose.JWK
	parsed  []crypto.PublicKey // keys[i] decoded once, so a verification does not re-validate the point
	fetched time.Time
}

type jwtVCIssuerMetadata struct {
	Issuer  string          `json:"issuer"`
	JWKS    *jwks           `json:"jwks"`
	JWKSURI string          `json:"jwks_uri"`
	Extra   json.RawMessage `json:"-"`
}

type jwks struct {
	Keys []json.RawMessage `json:"keys"`
}

// ResolveIssuerKey fetches (or reuses) iss's JWKS and picks the key.
func (m *JWTVCIssuerMetadata) ResolveIssuerKey(ctx context.Context, iss string, h Header) (crypto.PublicKey, error) {
	c, err := m.keys(ctx, iss)
	if err != nil {
		return nil, err
	}
	found := -1
	for i, k := range c.keys {
		if h.Kid == "" || k.Kid == h.Kid {
			if found >= 0 {
				found = -2
				break
			}
			found = i
		}
	}
	if found < 0 {
		n := 0
		for _, k := range c.keys {
			if h.Kid == "" || k.Kid == h.Kid {
				n++
			}
		}
		return nil, errf(CodeIssuerUnknown, "issuer %q has %d keys matching kid %q, want exactly one", iss, n, h.Kid)
	}
	return c.parsed[found], nil
}

func (m *JWTVCIssuerMetadata) keys(ctx context.Context, iss string) (cachedJWKS, error) {
	ttl := m.TTL
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	m.mu.Lock()
	c, ok := m.cache[iss]
	m.mu.Unlock()
	if ok && time.Since(c.fetched) < ttl {
		return c, nil
	}
	metaURL, err := JWTVCIssuerMetadataURL(iss)
	if err != nil {
		return cachedJWKS{}, err
	}
	var meta jwtVCIssuerMetadata
	if err := m.getJSON(ctx, metaURL, &meta); err != nil {
		return cachedJWKS{}, err
	}
	// Spec: draft-ietf-oauth-sd-jwt-vc-18 §5.3: "The issuer value
	// returned MUST be identical to the iss value of the JWT."
	if meta.Issuer != iss {
		return cachedJWKS{}, errf(CodeIssuerRefused, "metadata names issuer %q, not %q", meta.Issuer, iss)
	}
	if (meta.JWKS == nil) == (meta.JWKSURI == "") {
		return cachedJWKS{}, errf(CodeIssuerUnknown, "metadata must hold exactly one of jwks and jwks_uri")
	}
	set := meta.JWKS
	if set == nil {
		set = &jwks{}
		if err := m.getJSON(ctx, meta.JWKSURI, set); err != nil {
			return cachedJWKS{}, err
		}
	}
	var keys []jose.JWK
	var parsed []crypto.PublicKey
	for _, raw := range set.Keys {
		if _, err := jose.ParsePublicJWK(raw); err != nil {
			continue // keys of other types or with private members are skipped
		}
		var k jose.JWK
		if json.Unmarshal(raw, &k) != nil {
			continue
		}
		pub, err := k.PublicKey()
		if err != nil {
			continue
		}
		keys = append(keys, k)
		parsed = append(parsed, pub)
	}
	c = cachedJWKS{keys: keys, parsed: parsed, fetched: time.Now()}
	m.mu.Lock()
	if m.cache == nil {
		m.cache = map[string]cachedJWKS{}
	}
	m.cache[iss] = c
	m.mu.Unlock()
	return c, nil
}

func (m *JWTVCIssuerMetadata) getJSON(ctx context.Context, rawURL string, v any) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return errf(CodeIssuerUnknown, "bad URL %q", rawURL)
	}
	if u.Scheme != "https" && !(m.AllowLoopbackHTTP && u.Scheme == "http" && isLoopback(u.Hostname())) {
		return errf(CodeIssuerUnknown, "%s: only https is allowed", rawURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return errf(CodeIssuerUnknown, "bad URL %q", rawURL)
	}
	req.Header.Set("Accept", "application/json")
	client := m.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return &Error{Code: CodeIssuerUnknown, Description: "fetch " + rawURL, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errf(CodeIssuerUnknown, "%s answered %d", rawURL, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxMetadataSize+1))
	if err != nil {
		return &Error{Code: CodeIssuerUnknown, Description: "read " + rawURL, Err: err}
	}
	if len(body) > MaxMetadataSize {
		return errf(CodeIssuerUnknown, "%s is over %d bytes", rawURL, MaxMetadataSize)
	}
	if err := jose.CheckJSON(body, 8); err != nil {
		return &Error{Code: CodeIssuerUnknown, Description: fmt.Sprintf("%s: %v", rawURL, err), Err: err}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &Error{Code: CodeIssuerUnknown, Description: fmt.Sprintf("%s: %v", rawURL, err), Err: err}
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
