package httpapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/didregistry/client"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
)

// flakyRegistry fails while offline is set.
type flakyRegistry struct {
	inner   verifier.Registry
	offline *atomic.Bool
}

var errOffline = errors.New("network is unreachable")

func (f flakyRegistry) Accreditations(ctx context.Context) ([]client.Accreditation, error) {
	if f.offline.Load() {
		return nil, errOffline
	}
	return f.inner.Accreditations(ctx)
}

func (f flakyRegistry) DIDForIssuerURL(ctx context.Context, u string) (string, *did.Document, error) {
	if f.offline.Load() {
		return "", nil, errOffline
	}
	return f.inner.DIDForIssuerURL(ctx, u)
}

type flakyTransport struct {
	inner   http.RoundTripper
	offline *atomic.Bool
}

func (f flakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.offline.Load() {
		return nil, errOffline
	}
	return f.inner.RoundTrip(r)
}

// TestOfflineCounter: when the network goes, a counter keeps verifying on
// cached issuer keys, accreditations and status lists for MaxStale, and
// each result says how stale they were; after that it refuses.
func TestOfflineCounter(t *testing.T) {
	var offline atomic.Bool
	var mu sync.Mutex
	var offset time.Duration
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(offset) }
	c := tongtest.New(t, tongtest.Options{VerifierConfig: func(cfg *verifier.Config) {
		cfg.Registry = flakyRegistry{inner: cfg.Registry, offline: &offline}
		cfg.HTTPClient = &http.Client{Transport: flakyTransport{inner: cfg.HTTPClient.Transport, offline: &offline}}
		cfg.Now = now
		cfg.CacheTTL = time.Minute
		cfg.MaxStale = time.Hour
	}})
	answer := func() *verifier.Session {
		t.Helper()
		s := newSession(t, c, "identity-basic", nil)
		p := params(t, c, s.Session)
		sd, h := issueRaw(t, c, "psb", "citizen-identity")
		vp, _ := credential.Present(sd, basicPaths, h, credential.KeyBinding{Nonce: p.Nonce, Audience: p.ClientID, IssuedAt: now()})
		post(t, c, p.ResponseURI, url.Values{"state": {p.State}, "vp_token": {vpToken("pid", vp)}})
		var got verifier.Session
		call(t, c, http.MethodGet, "/verifier/sessions/"+s.ID, c.CounterTokens["identity-basic"], nil, &got)
		return &got
	}
	if s := answer(); s.Status != verifier.StatusAccepted || s.Result.StalenessSeconds != 0 {
		t.Fatalf("online: %+v", s.Result)
	}
	offline.Store(true)
	mu.Lock()
	offset = 10 * time.Minute
	mu.Unlock()
	s := answer()
	if s.Status != verifier.StatusAccepted || s.Result.StalenessSeconds < 8*60 {
		t.Fatalf("offline within MaxStale: %s %+v", s.Status, s.Result)
	}
	mu.Lock()
	offset = 2 * time.Hour
	mu.Unlock()
	if s := answer(); s.Status != verifier.StatusRejected {
		t.Fatalf("offline past MaxStale: %s %+v", s.Status, s.Result)
	}
}

// TestWebhook: the back office receives each result as a JWT signed by
// the organisation's DID key.
func TestWebhook(t *testing.T) {
	c := tongtest.New(t, tongtest.Options{})
	got := make(chan string, 1)
	hook := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	})}
	ln := listen(t)
	go hook.Serve(ln)
	defer hook.Close()
	ctx := context.Background()
	key, _ := c.Keys.Create("org-payments", keys.ES256)
	id := c.Register(t, key, "", didregistry.RoleVerifier, "identity-basic")
	if err := c.Verifier.AddOrg(ctx, verifier.Org{Slug: "payments", Name: "Payments office", DID: id, KeyName: "org-payments", KeyID: id + "#key-1",
		Webhook: "http://" + ln.Addr().String() + "/results"}); err != nil {
		t.Fatal(err)
	}
	ctr, tok, err := c.Verifier.AddCounter(ctx, "payments", "desk 1", []string{"identity-basic"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Verifier.CreateSession(ctx, ctr, verifier.NewRequest{Purpose: "identity-basic"})
	if err != nil {
		t.Fatal(err)
	}
	_ = tok
	p := params(t, c, s)
	sd, h := issueRaw(t, c, "psb", "citizen-identity")
	vp, _ := credential.Present(sd, basicPaths, h, credential.KeyBinding{Nonce: p.Nonce, Audience: p.ClientID})
	if st, code := post(t, c, p.ResponseURI, url.Values{"state": {p.State}, "vp_token": {vpToken("pid", vp)}}); st != 200 {
		t.Fatalf("%d %s", st, code)
	}
	select {
	case jwt := <-got:
		jws, err := jose.Parse(jwt, 1<<20)
		if err != nil || jws.Header.Typ != verifier.TypResult || jws.Header.Kid != id+"#key-1" {
			t.Fatalf("webhook body %q: %v", jwt, err)
		}
		if err := jws.Verify(key.Public()); err != nil {
			t.Fatal("the result is not signed by the organisation's key")
		}
		if !strings.Contains(string(jws.Payload), `"verdict":"accepted"`) {
			t.Fatalf("payload %s", jws.Payload)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook call")
	}
}
