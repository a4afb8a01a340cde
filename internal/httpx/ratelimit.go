package httpx

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tongid/tong/internal/bytelru"
)

// CodeRateLimited is the error code of a request refused by a
// [RateLimiter]: the client sent more than its share.
const CodeRateLimited = "rate_limited"

// Rate limit defaults: a client (one IPv4 address, or one IPv6 /64) may
// send DefaultRateBurst requests at once and DefaultRatePerMinute a minute
// after that; the limiter remembers at most DefaultRateLimitBytes of
// clients (about 40,000), the least recently seen going first.
const (
	DefaultRatePerMinute  = 60
	DefaultRateBurst      = 30
	DefaultRateLimitBytes = 8 << 20
)

// maxForwardedHops is how many X-Forwarded-For entries ClientKey walks.
const maxForwardedHops = 16

// bucketSize is what one client's entry costs beyond its key (stated to
// bytelru, which adds its own overhead).
const bucketSize = 96

// RateLimitConfig configures a [RateLimiter]. The zero value means the
// defaults with no trusted proxy.
type RateLimitConfig struct {
	// PerMinute is the sustained rate per client; 0 means
	// DefaultRatePerMinute, and a negative value turns the limiter off.
	PerMinute float64
	// Burst is how many requests a client may send at once; 0 means
	// DefaultRateBurst.
	Burst int
	// MaxBytes bounds the limiter's memory; 0 means DefaultRateLimitBytes.
	MaxBytes int64
	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-For header is believed. A request from any other
	// address is keyed by that address, whatever it claims.
	TrustedProxies []netip.Prefix
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Validate checks the configuration.
func (c RateLimitConfig) Validate() error {
	if math.IsNaN(c.PerMinute) || math.IsInf(c.PerMinute, 0) {
		return errors.New("httpx: rate limit must be a finite number")
	}
	if c.Burst < 0 || c.MaxBytes < 0 {
		return errors.New("httpx: rate limit burst and memory must not be negative")
	}
	return nil
}

// ParsePrefixes parses a list of CIDR prefixes (or bare addresses, taken
// as a single host) such as --trusted-proxies takes.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a CIDR prefix nor an IP address", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// RateLimiter is a token bucket per client. Each client's bucket holds
// Burst tokens and refills at PerMinute; a request spends one, and a
// request that finds the bucket empty is refused with 429 rate_limited
// and a Retry-After header. Clients are kept in a byte-bounded LRU, so a
// spray of addresses evicts the least recently seen clients (whose
// buckets start full again if they come back) instead of growing the map.
// It is safe for concurrent use.
type RateLimiter struct {
	rate    float64 // tokens per second
	burst   float64
	trusted []netip.Prefix
	now     func() time.Time
	off     bool

	mu      sync.Mutex
	clients *bytelru.Cache[string, *bucket]
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewRateLimiter makes a limiter.
func NewRateLimiter(cfg RateLimitConfig) (*RateLimiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.PerMinute == 0 {
		cfg.PerMinute = DefaultRatePerMinute
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultRateBurst
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultRateLimitBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &RateLimiter{rate: cfg.PerMinute / 60, burst: float64(cfg.Burst), trusted: cfg.TrustedProxies, now: cfg.Now,
		off: cfg.PerMinute < 0, clients: bytelru.New[string, *bucket](cfg.MaxBytes)}, nil
}

// Len is how many clients the limiter remembers; Bytes what they cost
// (as stated to the LRU, overhead included).
func (l *RateLimiter) Len() int        { return l.clients.Len() }
func (l *RateLimiter) Bytes() int64    { return l.clients.Bytes() }
func (l *RateLimiter) MaxBytes() int64 { return l.clients.Max() }

func (l *RateLimiter) isTrusted(a netip.Addr) bool {
	for _, p := range l.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientKey is the key a request is counted under: the address of the
// connection's peer; or, when the peer is a trusted proxy, the nearest
// address in X-Forwarded-For (walked from the right) that is not itself
// a trusted proxy. An entry that does not parse ends the walk, so a
// client cannot choose its key by writing the header itself. IPv6
// addresses are keyed by their /64, which one subscriber usually holds
// whole.
func (l *RateLimiter) ClientKey(r *http.Request) string {
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host // not an IP connection (a test's pipe): one key
	}
	ip = ip.Unmap().WithZone("")
	if l.isTrusted(ip) {
		lines := r.Header.Values("X-Forwarded-For")
	walk:
		for i, n := len(lines)-1, 0; i >= 0; i-- {
			line := lines[i]
			for line != "" {
				if n++; n > maxForwardedHops {
					break walk
				}
				hop := line
				if j := strings.LastIndexByte(line, ','); j >= 0 {
					hop, line = line[j+1:], line[:j]
				} else {
					line = ""
				}
				h, err := netip.ParseAddr(strings.TrimSpace(hop))
				if err != nil {
					break walk
				}
				ip = h.Unmap().WithZone("")
				if !l.isTrusted(ip) {
					break walk
				}
			}
		}
	}
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// Allow spends one of key's tokens. When none is left it returns false
// and how long until one is.
func (l *RateLimiter) Allow(key string) (bool, time.Duration) {
	if l.off {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients.Get(key)
	if !ok {
		b = &bucket{tokens: l.burst, at: now}
		l.clients.Add(key, b, int64(len(key))+bucketSize)
	}
	if dt := now.Sub(b.at).Seconds(); dt > 0 {
		b.tokens = math.Min(l.burst, b.tokens+dt*l.rate)
	}
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// Handler refuses a request over its client's rate with 429 rate_limited.
func (l *RateLimiter) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := l.ClientKey(r)
		ok, wait := l.Allow(key)
		if !ok {
			WriteRateLimited(w, r, wait)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKeyCtx{}, key)))
	})
}

type clientKeyCtx struct{}

// ClientKeyOf is the key a RateLimiter's Handler counted r under (so a
// client behind a trusted proxy is itself, not the proxy), or, for a
// request no limiter saw, the peer's address. Per-client limits kept
// elsewhere (the inquiry flood limits) count by it, so that they agree
// with the rate limit about who a client is.
func ClientKeyOf(r *http.Request) string {
	if k, ok := r.Context().Value(clientKeyCtx{}).(string); ok {
		return k
	}
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// rateLimitedPage is the answer a browser gets: the forms that hit the
// limit are pages, and a citizen should read why, not JSON.
const rateLimitedPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Please wait · 请稍候</title></head>
<body><h1>Please wait a moment <span lang="zh">请稍候</span></h1>
<p>Too many requests came from your network in a short time. Please wait %[1]d seconds, then try again.</p>
<p lang="zh">您所在网络的请求过于频繁。请等待 %[1]d 秒后重试。</p>
</body></html>
`

// WriteRateLimited writes the 429 for a request that must wait before
// trying again: HTML for a browser (Accept: text/html), the JSON error
// otherwise, with Retry-After in whole seconds either way.
func WriteRateLimited(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	retry := strconv.Itoa(secs)
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Retry-After", retry)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = fmt.Fprintf(w, rateLimitedPage, secs)
		return
	}
	WriteError(w, r, &Error{Status: http.StatusTooManyRequests, Code: CodeRateLimited,
		Description: "too many requests from your network; wait " + retry + " seconds and try again",
		Header:      http.Header{"Retry-After": {retry}}})
}
