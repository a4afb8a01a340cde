package httpx

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newFakeClock() *fakeClock           { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }
func mustLimiter(t *testing.T, cfg RateLimitConfig) *RateLimiter {
	t.Helper()
	l, err := NewRateLimiter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestRateLimiterBucket: Burst requests pass at once, the next waits for
// a token, and tokens come back at PerMinute; clients have their own.
func TestRateLimiterBucket(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := mustLimiter(t, RateLimitConfig{PerMinute: 30, Burst: 3, Now: clk.Now})
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("Allow(a) #%d = false, want true within the burst", i+1)
		}
	}
	ok, wait := l.Allow("a")
	if ok || wait != 2*time.Second {
		t.Fatalf("Allow(a) past the burst = %v, %v; want false, 2s", ok, wait)
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another client is limited by the first one's requests")
	}
	clk.Add(2 * time.Second)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("no token came back after 2s at 30/min")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("two tokens came back after 2s at 30/min")
	}
	clk.Add(time.Hour)
	for i := range 4 {
		if ok, _ := l.Allow("a"); ok != (i < 3) {
			t.Fatalf("after an hour, Allow(a) #%d = %v: the bucket must refill to Burst and no further", i+1, ok)
		}
	}
	off := mustLimiter(t, RateLimitConfig{PerMinute: -1, Burst: 1})
	for range 10 {
		if ok, _ := off.Allow("a"); !ok {
			t.Fatal("a limiter turned off refused a request")
		}
	}
}

// TestClientKey: X-Forwarded-For is believed only from a trusted proxy,
// walked from the right, and stops at the first entry that does not parse;
// IPv6 clients are keyed by their /64.
func TestClientKey(t *testing.T) {
	t.Parallel()
	trusted, err := ParsePrefixes([]string{"10.0.0.0/8", "192.0.2.1", " "})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePrefixes([]string{"not-a-cidr"}); err == nil {
		t.Error(`ParsePrefixes("not-a-cidr") = nil error`)
	}
	withProxy := mustLimiter(t, RateLimitConfig{TrustedProxies: trusted})
	direct := mustLimiter(t, RateLimitConfig{})
	for _, tc := range []struct {
		name, remote string
		xff          []string
		l            *RateLimiter
		want         string
	}{
		{"direct", "203.0.113.9:4000", nil, direct, "203.0.113.9"},
		{"forged header, no proxy trusted", "203.0.113.9:4000", []string{"198.51.100.1"}, direct, "203.0.113.9"},
		{"forged header, peer not a trusted proxy", "203.0.113.9:4000", []string{"198.51.100.1"}, withProxy, "203.0.113.9"},
		{"one trusted proxy", "10.1.2.3:4000", []string{"198.51.100.1"}, withProxy, "198.51.100.1"},
		{"client forged the left of the header", "10.1.2.3:4000", []string{"1.1.1.1, 198.51.100.1"}, withProxy, "198.51.100.1"},
		{"two trusted proxies", "10.1.2.3:4000", []string{"198.51.100.1, 192.0.2.1"}, withProxy, "198.51.100.1"},
		{"two header lines", "10.1.2.3:4000", []string{"1.1.1.1", "198.51.100.1, 10.9.9.9"}, withProxy, "198.51.100.1"},
		{"garbage stops the walk", "10.1.2.3:4000", []string{"198.51.100.1, junk, 10.9.9.9"}, withProxy, "10.9.9.9"},
		{"trusted proxy, no header", "10.1.2.3:4000", nil, withProxy, "10.1.2.3"},
		{"a long header is walked from the right only", "10.1.2.3:4000", []string{strings.Repeat("1.1.1.1, ", 5000) + "198.51.100.1"}, withProxy, "198.51.100.1"},
		{"at most 16 trusted hops", "10.1.2.3:4000", []string{"198.51.100.1, " + strings.Repeat("10.0.0.9, ", 20) + "10.0.0.1"}, withProxy, "10.0.0.9"},
		{"IPv6 keyed by /64", "[2001:db8:1:2:aaaa::1]:4000", nil, direct, "2001:db8:1:2::/64"},
		{"IPv6 via proxy", "10.1.2.3:4000", []string{"2001:db8:1:2:bbbb::7"}, withProxy, "2001:db8:1:2::/64"},
		{"IPv4-mapped IPv6", "[::ffff:203.0.113.9]:4000", nil, direct, "203.0.113.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := tc.l.ClientKey(r); got != tc.want {
				t.Errorf("ClientKey(remote %s, X-Forwarded-For %q) = %q, want %q", tc.remote, tc.xff, got, tc.want)
			}
		})
	}
}

// TestRateLimitedAnswer: the 429 has Retry-After, JSON with the stable
// code for API clients, and a page a citizen can read for a browser.
func TestRateLimitedAnswer(t *testing.T) {
	t.Parallel()
	l := mustLimiter(t, RateLimitConfig{PerMinute: 6, Burst: 1})
	h := WithRequestID(nil)(l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })))
	send := func(accept string) *http.Response {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		r.RemoteAddr = "203.0.113.9:1"
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Result()
	}
	if got := send(""); got.StatusCode != http.StatusNoContent {
		t.Fatalf("first request = %d, want 204", got.StatusCode)
	}
	js := send("application/json")
	var body ErrorBody
	if err := json.NewDecoder(js.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if js.StatusCode != http.StatusTooManyRequests || body.Error != CodeRateLimited || js.Header.Get("Retry-After") != "10" || !strings.Contains(body.ErrorDescription, "wait 10 seconds") {
		t.Errorf("JSON answer = %d %+v Retry-After %q; want 429 rate_limited, Retry-After 10, a description saying how long to wait", js.StatusCode, body, js.Header.Get("Retry-After"))
	}
	page := send("text/html,application/xhtml+xml")
	b, _ := io.ReadAll(page.Body)
	if page.StatusCode != http.StatusTooManyRequests || page.Header.Get("Retry-After") == "" ||
		!strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(b), "Please wait 10 seconds") {
		t.Errorf("browser answer = %d %q %s", page.StatusCode, page.Header, b)
	}
}

// TestRateLimiterBoundedUnderSpray: 100,000 client addresses, each one
// request, leave the limiter within its byte bound (the least recently
// seen are forgotten), and the heap grows by about that bound, not by
// the number of clients.
func TestRateLimiterBoundedUnderSpray(t *testing.T) {
	const maxBytes = 1 << 20
	l := mustLimiter(t, RateLimitConfig{MaxBytes: maxBytes, Burst: 1})
	h := l.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	for i := range 100_000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		r.RemoteAddr = netip.AddrPortFrom(a, 1234).String()
		h.ServeHTTP(w, r)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if l.Bytes() > maxBytes || l.Len() >= 100_000 || l.Len() == 0 {
		t.Fatalf("after 100,000 clients the limiter holds %d clients in %d bytes, want within %d bytes", l.Len(), l.Bytes(), maxBytes)
	}
	// Unbounded, 100,000 entries take about 20 MB of heap.
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 4*maxBytes {
		t.Errorf("heap grew by %d bytes for a limiter bounded at %d", grown, maxBytes)
	}
	// The most recent client is still counted: its second request waits.
	if ok, _ := l.Allow("10.1.134.159"); ok {
		t.Error("the last client of the spray was forgotten")
	}
	t.Logf("%d clients kept in %d bytes (heap +%d)", l.Len(), l.Bytes(), int64(after.HeapAlloc)-int64(before.HeapAlloc))
}

// TestStreamLimit: a key holds at most perKey slots, the process at most
// total; a released slot is free again, and released keys leave the map.
func TestStreamLimit(t *testing.T) {
	t.Parallel()
	s := NewStreamLimit(2, 3)
	var rel []func()
	take := func(key string, want int) {
		t.Helper()
		r, err := s.Acquire(key)
		got := http.StatusOK
		if err != nil {
			got = err.Status
		} else {
			rel = append(rel, r)
		}
		if got != want {
			t.Fatalf("Acquire(%q) = %d, want %d", key, got, want)
		}
	}
	take("a", 200)
	take("a", 200)
	take("a", http.StatusTooManyRequests)
	take("b", 200)
	take("c", http.StatusServiceUnavailable)
	rel[0]()
	rel[0]() // twice is once
	take("c", 200)
	for _, r := range rel {
		r()
	}
	if n, keys := s.Open(); n != 0 || keys != 0 {
		t.Fatalf("after every release: %d streams, %d keys open; want 0, 0", n, keys)
	}
	// Through the handler: the slot is held while the handler runs.
	hold, started := make(chan struct{}), make(chan struct{}, 4)
	h := s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { started <- struct{}{}; <-hold }))
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/s/1/events", nil)) })
	}
	<-started
	<-started
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/s/1/events", nil))
	if w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), CodeTooManyStreams) {
		t.Errorf("third stream of one session = %d %s, want 429 %s", w.Code, w.Body, CodeTooManyStreams)
	}
	close(hold)
	wg.Wait()
	if n, _ := s.Open(); n != 0 {
		t.Errorf("%d streams still counted after their handlers returned", n)
	}
}

// BenchmarkRateLimiter is the cost a limited route adds: the client key
// (with and without X-Forwarded-For through a trusted proxy) and the
// bucket, for a known client and for a new one evicting an old one.
func BenchmarkRateLimiter(b *testing.B) {
	trusted, _ := ParsePrefixes([]string{"10.0.0.0/8"})
	l, _ := NewRateLimiter(RateLimitConfig{PerMinute: 1e9, Burst: 1 << 30, MaxBytes: 1 << 20, TrustedProxies: trusted})
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.RemoteAddr = "203.0.113.9:1234"
	b.Run("key", func(b *testing.B) {
		for b.Loop() {
			_ = l.ClientKey(r)
		}
	})
	fwd := httptest.NewRequest(http.MethodPost, "/", nil)
	fwd.RemoteAddr = "10.0.0.1:1234"
	fwd.Header.Set("X-Forwarded-For", "198.51.100.1, 10.0.0.2")
	b.Run("key_forwarded", func(b *testing.B) {
		for b.Loop() {
			_ = l.ClientKey(fwd)
		}
	})
	b.Run("allow_known_client", func(b *testing.B) {
		for b.Loop() {
			l.Allow("203.0.113.9")
		}
	})
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)}).String()
	}
	b.Run("allow_new_client_evicting", func(b *testing.B) {
		i := 0
		for b.Loop() {
			l.Allow(keys[i&(len(keys)-1)])
			i++
		}
	})
}
