package did

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// did:web defaults.
const (
	// DefaultWebTimeout bounds one did:web resolution with the default client.
	DefaultWebTimeout = 10 * time.Second
	// maxWebRedirects is the most redirects a did:web fetch follows.
	maxWebRedirects = 3
)

// WebConfig configures a [WebResolver].
type WebConfig struct {
	// Client makes the HTTPS requests. nil means a safe default: a
	// DefaultWebTimeout timeout, TLS 1.2 or later, no proxy, and a dialer
	// that refuses loopback, private, link-local and other non-public
	// addresses (so a DNS name cannot point the resolver at an internal
	// service). A given client is used as is, except that its redirect
	// policy is replaced by one that follows at most 3 redirects, to https
	// URLs with a DNS host only.
	Client *http.Client
	// MaxBodySize is the largest did.json accepted, in bytes; 0 means
	// MaxDocumentSize, which is also the most it may be.
	MaxBodySize int64
}

// WebResolver resolves did:web DIDs ([did:web] §Read (Resolve)) over HTTPS.
//
// Before any network I/O it rejects, with CodeInvalidDID: a host that is an
// IP address in any form (wrapping [ErrIPAddress]; "it MUST NOT include IP
// addresses"), a host that is not a fully qualified DNS name, a malformed
// port, and path segments that are empty or decode to ".", ".." or a "/".
// The response must be 200 with a JSON content type (application/did+json,
// application/did, application/json, or the JSON-LD types) and at most
// MaxBodySize bytes, and must be a valid document whose id equals the DID
// and that holds no relative DID URL ("Whenever a DID URL is present within
// a did:web document, it must be an absolute URL"); otherwise
// CodeInvalidDIDDocument. 404 and 410 give CodeNotFound (a did:web is
// deactivated by removing did.json); other failures CodeInternalError.
type WebResolver struct {
	client  *http.Client
	maxBody int64
}

var _ Resolver = (*WebResolver)(nil)

// NewWebResolver returns a did:web resolver.
func NewWebResolver(cfg WebConfig) (*WebResolver, error) {
	if cfg.MaxBodySize < 0 || cfg.MaxBodySize > MaxDocumentSize {
		return nil, fmt.Errorf("did: WebConfig.MaxBodySize must be between 0 and %d", MaxDocumentSize)
	}
	r := &WebResolver{maxBody: cfg.MaxBodySize}
	if r.maxBody == 0 {
		r.maxBody = MaxDocumentSize
	}
	if cfg.Client == nil {
		r.client = defaultWebClient()
	} else {
		c := *cfg.Client
		c.CheckRedirect = checkWebRedirect
		r.client = &c
	}
	return r, nil
}

// WebURL returns the HTTPS URL of the did.json of a did:web DID, after the
// checks listed in [WebResolver]. For example did:web:example.com%3A8443:u:a
// gives https://example.com:8443/u/a/did.json and did:web:example.com gives
// https://example.com/.well-known/did.json.
func WebURL(did string) (string, error) {
	d, err := Parse(did)
	if err != nil {
		return "", err
	}
	if d.Method != MethodWeb {
		return "", errorf(CodeInvalidDID, "not a did:web", nil)
	}
	segs := strings.Split(d.ID, ":")
	hostport := segs[0]
	host, port, hasPort := hostport, "", false
	// Spec: "If the domain contains a port percent decode the colon."
	if i := strings.Index(strings.ToUpper(hostport), "%3A"); i >= 0 {
		host, port, hasPort = hostport[:i], hostport[i+3:], true
	}
	if strings.IndexByte(host, '%') >= 0 {
		if h, err := url.PathUnescape(host); err == nil && isIPLike(h) {
			return "", errorf(CodeInvalidDID, "did:web host is an IP address", ErrIPAddress)
		}
		return "", errorf(CodeInvalidDID, "did:web host must not be percent-encoded", nil)
	}
	if isIPLike(host) {
		return "", errorf(CodeInvalidDID, "did:web host is an IP address", ErrIPAddress)
	}
	if !isDNSName(host) {
		return "", errorf(CodeInvalidDID, "did:web host is not a fully qualified domain name", nil)
	}
	if hasPort {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return "", errorf(CodeInvalidDID, "did:web port is malformed", nil)
		}
		host += ":" + port
	}
	var path strings.Builder
	if len(segs) == 1 {
		// Spec: "If no path has been specified in the URL, append /.well-known."
		path.WriteString("/.well-known")
	}
	for _, s := range segs[1:] {
		p, err := url.PathUnescape(s)
		if err != nil || p == "" || p == "." || p == ".." || strings.ContainsAny(p, "/\\?#") || hasControl(p) {
			return "", errorf(CodeInvalidDID, "did:web path segment is empty or unsafe", nil)
		}
		path.WriteByte('/')
		path.WriteString(url.PathEscape(p))
	}
	path.WriteString("/did.json")
	return "https://" + host + path.String(), nil
}

// isIPLike reports whether a host is an IP address in any form a resolver
// might accept: IPv4 or IPv6 literals, bracketed or zoned IPv6, and the
// inet_aton shorthands ("127.1", "2130706433", "0x7f.1"), which all end in a
// numeric label. No top-level domain is numeric (RFC 3696 §2).
func isIPLike(h string) bool {
	if h == "" {
		return false
	}
	if strings.ContainsAny(h, "[]") || net.ParseIP(h) != nil {
		return true
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	last := h[strings.LastIndexByte(h, '.')+1:]
	if last == "" {
		return false
	}
	ll := strings.ToLower(last)
	if strings.HasPrefix(ll, "0x") {
		ll = ll[2:]
		for i := 0; i < len(ll); i++ {
			if !isHex(ll[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(ll); i++ {
		if ll[i] < '0' || ll[i] > '9' {
			return false
		}
	}
	return true
}

// isDNSName reports whether h is a fully qualified host name: at least two
// labels of letters, digits and inner hyphens, 1–63 bytes each, 253 in all.
func isDNSName(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// webAcceptedTypes are the response media types taken as a DID document.
var webAcceptedTypes = map[string]bool{
	MediaTypeDIDJSON: true, MediaTypeDID: true, "application/json": true,
	MediaTypeDIDLDJSON: true, "application/ld+json": true,
}

// Resolve implements [Resolver].
func (r *WebResolver) Resolve(ctx context.Context, did string, opts ResolveOptions) (*Result, error) {
	ct, err := checkStaticOptions(opts)
	if err != nil {
		return nil, err
	}
	u, err := WebURL(did)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, errorf(CodeInternalError, "cannot build did:web request", err)
	}
	req.Header.Set("Accept", "application/did+json, application/did, application/json;q=0.9")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, errorf(CodeInternalError, "did:web fetch failed", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, errorf(CodeNotFound, "did.json not found", nil)
	case resp.StatusCode != http.StatusOK:
		return nil, errorf(CodeInternalError, "did:web server answered "+strconv.Itoa(resp.StatusCode), nil)
	}
	if resp.Request != nil && resp.Request.URL.Scheme != "https" {
		return nil, errorf(CodeInternalError, "did:web fetch left https", nil)
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !webAcceptedTypes[mt] {
		return nil, errorf(CodeInvalidDIDDocument, "did.json has no JSON content type", err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.maxBody+1))
	if err != nil {
		return nil, errorf(CodeInternalError, "reading did.json failed", err)
	}
	if int64(len(body)) > r.maxBody {
		return nil, errorf(CodeInvalidDIDDocument, "did.json larger than the limit", nil)
	}
	doc, err := ParseDocument(body)
	if err != nil {
		return nil, err
	}
	if doc.ID != did {
		// Spec: "Verify that the ID of the resolved DID document matches the
		// Web DID being resolved."
		return nil, errorf(CodeInvalidDIDDocument, "document id does not match the DID", nil)
	}
	if doc.hasRelativeURL() {
		return nil, errorf(CodeInvalidDIDDocument, "did:web document holds a relative DID URL", nil)
	}
	return &Result{Document: doc, ResolutionMetadata: ResolutionMetadata{ContentType: ct}}, nil
}

// checkWebRedirect follows at most maxWebRedirects redirects, and only to
// https URLs whose host is a DNS name.
func checkWebRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxWebRedirects {
		return errors.New("did:web: too many redirects")
	}
	if req.URL.Scheme != "https" {
		return errors.New("did:web: redirect away from https")
	}
	if h := req.URL.Hostname(); isIPLike(h) || !isDNSName(h) {
		return errors.New("did:web: redirect to an IP address or a non-DNS host")
	}
	return nil
}

func defaultWebClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: dialPublicOnly}
	return &http.Client{
		Timeout:       DefaultWebTimeout,
		CheckRedirect: checkWebRedirect,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 5 * time.Second,
			MaxIdleConns:          16,
			IdleConnTimeout:       60 * time.Second,
			ForceAttemptHTTP2:     true,
		},
	}
}

// nonPublic lists special-purpose ranges that IsPrivate and friends miss.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// dialPublicOnly refuses connections to addresses that are not public
// unicast, after DNS resolution (a net.Dialer Control function).
func dialPublicOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return err
	}
	if !isPublicAddr(a) {
		return fmt.Errorf("did:web: refusing to connect to non-public address %s", a)
	}
	return nil
}

func isPublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
