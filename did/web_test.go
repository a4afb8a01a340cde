package did

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

func TestWebURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		did  string
		want string
		ip   bool // CodeInvalidDID wrapping ErrIPAddress
	}{
		// did:web §Read (Resolve) examples.
		{did: "did:web:w3c-ccg.github.io", want: "https://w3c-ccg.github.io/.well-known/did.json"},
		{did: "did:web:w3c-ccg.github.io:user:alice", want: "https://w3c-ccg.github.io/user/alice/did.json"},
		{did: "did:web:example.com%3A3000:user:alice", want: "https://example.com:3000/user/alice/did.json"},
		{did: "did:web:example.com%3a8443", want: "https://example.com:8443/.well-known/did.json"},
		{did: "did:web:example.com:u:bob", want: "https://example.com/u/bob/did.json"},
		{did: "did:web:xn--bcher-kva.example:a%20b", want: "https://xn--bcher-kva.example/a%20b/did.json"},
		// IP addresses in every form.
		{did: "did:web:127.0.0.1", ip: true},
		{did: "did:web:127.0.0.1%3A443", ip: true},
		{did: "did:web:10.0.0.1:path", ip: true},
		{did: "did:web:127.1", ip: true},
		{did: "did:web:2130706433", ip: true},
		{did: "did:web:0x7f.0x1", ip: true},
		{did: "did:web:0177.0.0.1", ip: true},
		{did: "did:web:%5B%3A%3A1%5D", ip: true},
		{did: "did:web:%5B%3A%3A1%5D%3A443", ip: true},
		{did: "did:web:%3A%3A1", ip: false}, // empty host: not a DNS name
		{did: "did:web:169.254.169.254:latest", ip: true},
		{did: "did:web:1.2.3.4.5", ip: true},
		// Not DNS names, bad ports, unsafe paths.
		{did: "did:web:localhost"},
		{did: "did:web:example"},
		{did: "did:web:-example.com"},
		{did: "did:web:example.com."},
		{did: "did:web:exa_mple.com"},
		{did: "did:web:ex%41mple.com"},
		{did: "did:web:example.com%3A0"},
		{did: "did:web:example.com%3A65536"},
		{did: "did:web:example.com%3A080"},
		{did: "did:web:example.com%3A"},
		{did: "did:web:example.com%3A1%3A2"},
		{did: "did:web:example.com::a"},
		{did: "did:web:example.com:.."},
		{did: "did:web:example.com:%2E%2E:x"},
		{did: "did:web:example.com:a%2Fb"},
		{did: "did:web:example.com:a%3Fb"},
		{did: "did:web:example.com:a%00b"},
		{did: "did:web:" + strings.Repeat("a", 64) + ".com"},
		{did: "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"},
		{did: "did:web:example.com#frag"},
	}
	for _, tc := range tests {
		t.Run(tc.did, func(t *testing.T) {
			got, err := WebURL(tc.did)
			if tc.want != "" {
				if err != nil || got != tc.want {
					t.Errorf("WebURL(%q) = %q, %v; want %q", tc.did, got, err, tc.want)
				}
				return
			}
			if CodeOf(err) != CodeInvalidDID || errors.Is(err, ErrIPAddress) != tc.ip {
				t.Errorf("WebURL(%q) = %q, %v; want %s (IP %v)", tc.did, got, err, CodeInvalidDID, tc.ip)
			}
		})
	}
}

// TestWebRejectsBeforeIO checks that no request is made for a DID that
// fails the checks.
func TestWebRejectsBeforeIO(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	client := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		calls.Add(1)
		return nil, errors.New("no network in this test")
	})}
	r, err := NewWebResolver(WebConfig{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	for _, did := range []string{"did:web:127.0.0.1", "did:web:%5B%3A%3A1%5D", "did:web:127.1", "did:web:localhost", "did:web:example.com:.."} {
		if _, err := r.Resolve(t.Context(), did, ResolveOptions{}); CodeOf(err) != CodeInvalidDID {
			t.Errorf("Resolve(%q) = %v, want %s", did, err, CodeInvalidDID)
		}
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d requests were made", n)
	}
	// A DID that passes does reach the transport.
	if _, err := r.Resolve(t.Context(), "did:web:example.com", ResolveOptions{}); CodeOf(err) != CodeInternalError || calls.Load() != 1 {
		t.Errorf("Resolve(did:web:example.com) = %v after %d calls", err, calls.Load())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// webTestServer starts a TLS server and returns a client that sends every
// connection for example.com (any port) to it, so DIDs name no IP address.
func webTestServer(t *testing.T, h http.Handler) *http.Client {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	client := srv.Client()
	tr := client.Transport.(*http.Transport).Clone()
	addr := srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, hostport string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(hostport)
		if host != "example.com" && !strings.HasSuffix(host, ".example.com") {
			return nil, errors.New("test dialer: unexpected host " + host)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	client.Transport = tr
	return client
}

func TestWebResolve(t *testing.T) {
	t.Parallel()
	const good = `{"@context":["https://www.w3.org/ns/did/v1.1"],"id":"%s","verificationMethod":[{"id":"%s#k","type":"Multikey","controller":"%s","publicKeyMultibase":"zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv"}],"assertionMethod":["%s#k"]}`
	doc := func(did string) string { return strings.ReplaceAll(good, "%s", did) }
	mux := http.NewServeMux()
	serve := func(path, ct, body string, status int) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if ct != "" {
				w.Header().Set("Content-Type", ct)
			}
			w.WriteHeader(status)
			w.Write([]byte(body))
		})
	}
	serve("/.well-known/did.json", "application/did+json", doc("did:web:example.com"), 200)
	serve("/ok/did.json", "application/json; charset=utf-8", doc("did:web:example.com:ok"), 200)
	serve("/ldjson/did.json", "application/did+ld+json", doc("did:web:example.com:ldjson"), 200)
	serve("/wrongid/did.json", "application/json", doc("did:web:example.com:other"), 200)
	serve("/relative/did.json", "application/json", strings.ReplaceAll(doc("did:web:example.com:relative"), `["did:web:example.com:relative#k"]`, `["#k"]`), 200)
	serve("/html/did.json", "text/html", doc("did:web:example.com:html"), 200)
	serve("/noct/did.json", "", doc("did:web:example.com:noct"), 200)
	serve("/big/did.json", "application/json", `{"id":"did:web:example.com:big","x":"`+strings.Repeat("a", MaxDocumentSize)+`"}`, 200)
	serve("/bad/did.json", "application/json", `{"id":"did:web:example.com:bad","id":"did:web:example.com:bad"}`, 200)
	serve("/gone/did.json", "application/json", "", 410)
	serve("/boom/did.json", "application/json", "", 500)
	mux.HandleFunc("/tohttp/did.json", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://example.com/ok/did.json", http.StatusFound)
	})
	mux.HandleFunc("/toip/did.json", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://127.0.0.1/ok/did.json", http.StatusFound)
	})
	mux.HandleFunc("/redirect/did.json", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://www.example.com/redirected/did.json", http.StatusFound)
	})
	serve("/redirected/did.json", "application/json", doc("did:web:example.com:redirect"), 200)
	mux.HandleFunc("/loop/did.json", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop/did.json", http.StatusFound)
	})
	client := webTestServer(t, mux)
	r, err := NewWebResolver(WebConfig{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		did  string
		code Code
	}{
		{"did:web:example.com", ""},
		{"did:web:example.com%3A443", CodeInvalidDIDDocument}, // served id lacks the port
		{"did:web:example.com:ok", ""},
		{"did:web:example.com:ldjson", ""},
		{"did:web:example.com:redirect", ""},
		{"did:web:example.com:wrongid", CodeInvalidDIDDocument},
		{"did:web:example.com:relative", CodeInvalidDIDDocument},
		{"did:web:example.com:html", CodeInvalidDIDDocument},
		{"did:web:example.com:noct", CodeInvalidDIDDocument},
		{"did:web:example.com:big", CodeInvalidDIDDocument},
		{"did:web:example.com:bad", CodeInvalidDIDDocument},
		{"did:web:example.com:missing", CodeNotFound},
		{"did:web:example.com:gone", CodeNotFound},
		{"did:web:example.com:boom", CodeInternalError},
		{"did:web:example.com:tohttp", CodeInternalError},
		{"did:web:example.com:toip", CodeInternalError},
		{"did:web:example.com:loop", CodeInternalError},
	}
	for _, tc := range tests {
		t.Run(tc.did, func(t *testing.T) {
			t.Parallel()
			res, err := r.Resolve(t.Context(), tc.did, ResolveOptions{})
			if CodeOf(err) != tc.code {
				t.Fatalf("Resolve(%q) = %v, want code %q", tc.did, err, tc.code)
			}
			if err != nil {
				return
			}
			if res.Document.ID != tc.did {
				t.Errorf("document id = %q", res.Document.ID)
			}
			if _, err := res.Document.KeyFor(AssertionMethod, tc.did+"#k"); err != nil {
				t.Errorf("KeyFor = %v", err)
			}
		})
	}

	small, _ := NewWebResolver(WebConfig{Client: client, MaxBodySize: 100})
	if _, err := small.Resolve(t.Context(), "did:web:example.com", ResolveOptions{}); CodeOf(err) != CodeInvalidDIDDocument {
		t.Errorf("Resolve with a 100-byte limit = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := r.Resolve(ctx, "did:web:example.com", ResolveOptions{}); CodeOf(err) != CodeInternalError || !errors.Is(err, context.Canceled) {
		t.Errorf("Resolve with a cancelled context = %v", err)
	}
}

func TestNewWebResolverConfig(t *testing.T) {
	t.Parallel()
	for _, n := range []int64{-1, MaxDocumentSize + 1} {
		if _, err := NewWebResolver(WebConfig{MaxBodySize: n}); err == nil {
			t.Errorf("NewWebResolver(MaxBodySize %d) succeeded", n)
		}
	}
	r, err := NewWebResolver(WebConfig{})
	if err != nil || r.client.Timeout != DefaultWebTimeout || r.maxBody != MaxDocumentSize {
		t.Errorf("NewWebResolver(zero) = %+v, %v", r, err)
	}
}

func TestDialPublicOnly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"93.184.215.14:443", true},
		{"[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443", true},
		{"127.0.0.1:443", false},
		{"10.1.2.3:443", false},
		{"172.16.0.1:443", false},
		{"192.168.1.1:443", false},
		{"169.254.169.254:80", false},
		{"100.64.0.1:443", false},
		{"0.0.0.0:443", false},
		{"[::1]:443", false},
		{"[::ffff:127.0.0.1]:443", false},
		{"[fe80::1]:443", false},
		{"[fc00::1]:443", false},
		{"224.0.0.1:443", false},
		{"255.255.255.255:443", false},
	} {
		err := dialPublicOnly("tcp", tc.addr, nil)
		if (err == nil) != tc.ok {
			t.Errorf("dialPublicOnly(%s) = %v, want ok %v", tc.addr, err, tc.ok)
		}
	}
	if isPublicAddr(netip.MustParseAddr("198.18.0.1")) {
		t.Errorf("benchmarking range counted as public")
	}
}

// TestWebSpecExample serves the did:web spec's first example document and
// checks the keys it authorizes.
func TestWebSpecExample(t *testing.T) {
	t.Parallel()
	raw := loadDocuments(t)["web_example_jws2020.json"]
	client := webTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/did.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/did+json")
		w.Write(raw)
	}))
	r, _ := NewWebResolver(WebConfig{Client: client})
	m, _ := NewMulti(map[string]Resolver{"web": r})
	for _, tc := range []struct {
		kid  string
		rel  Relationship
		want string
	}{
		{"did:web:example.com#key-0", Authentication, "ed25519.PublicKey"},
		{"did:web:example.com#key-2", AssertionMethod, "*ecdsa.PublicKey"},
		{"did:web:example.com#key-1", KeyAgreement, "*ecdh.PublicKey"},
		{"did:web:example.com#key-2", KeyAgreement, "*ecdsa.PublicKey"},
		{"did:web:example.com#key-1", AssertionMethod, string(CodeInvalidRelationshipForVerificationMethod)},
	} {
		pub, err := ResolveKey(t.Context(), m, tc.kid, tc.rel)
		got := fmt.Sprintf("%T", pub)
		if err != nil {
			got = string(CodeOf(err))
		}
		if got != tc.want {
			t.Errorf("ResolveKey(%s, %s) = %s (%v), want %s", tc.kid, tc.rel, got, err, tc.want)
		}
	}
}
