package tongtest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
	"github.com/tongid/tong/wallet"
)

// benchWallets is how many wallets run at once (RunParallel's
// goroutines: GOMAXPROCS × benchParallelism).
const benchParallelism = 4

// engines are the deployments the replica benchmarks compare in one run:
// SQLite, and PostgreSQL with one and with three replicas.
var engines = []struct {
	name     string
	pg       bool
	replicas int
}{{"sqlite", false, 1}, {"postgres-1", true, 1}, {"postgres-3", true, 3}}

// balancer is the load balancer in front of the replicas: each request
// to the first replica's host goes to the next replica in turn, as a
// round-robin proxy would send it (any replica serves any request).
type balancer struct {
	base  http.RoundTripper
	from  string
	hosts []string
	next  atomic.Uint64
}

func (lb *balancer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != lb.from || len(lb.hosts) == 1 {
		return lb.base.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Host = lb.hosts[lb.next.Add(1)%uint64(len(lb.hosts))]
	r2.Host = ""
	return lb.base.RoundTrip(r2)
}

// benchCity is a city of n replicas and the client that reaches them
// through the balancer.
func benchCity(b *testing.B, pg bool, n int) ([]*tongtest.City, *http.Client) {
	b.Helper()
	c := tongtest.New(b, tongtest.Options{PostgreSQL: pg})
	cs := []*tongtest.City{c}
	for len(cs) < n {
		cs = append(cs, c.Replica(b))
	}
	tr := c.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	lb := &balancer{base: tr, from: host(c.URL)}
	for _, r := range cs {
		lb.hosts = append(lb.hosts, host(r.URL))
	}
	return cs, &http.Client{Transport: lb}
}

func host(u string) string { p, _ := url.Parse(u); return p.Host }

func benchWallet(b *testing.B, c *tongtest.City, hc *http.Client, copies int) *wallet.Wallet {
	b.Helper()
	w, err := wallet.Create(context.Background(), filepath.Join(b.TempDir(), "w.db"), []byte("pass"), wallet.Options{
		HTTPClient: hc, AllowLoopbackHTTP: true, Registry: c.Registry, RequireRegistry: true, Copies: copies, RefillAt: -1,
		KDF: wallet.KDF{Alg: "argon2id", Time: 1, Memory: 8 << 10, Threads: 1}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	return w
}

func identityOffer(b *testing.B, c *tongtest.City) *issuer.Offer {
	b.Helper()
	types, _ := issuer.DemoTypes()
	var claims map[string]any
	raw, _ := json.Marshal(types["citizen-identity"].ExampleClaims)
	_ = json.Unmarshal(raw, &claims)
	o, err := c.Issuer.CreateOffer(context.Background(), "psb", "bench", issuer.OfferRequest{Type: "citizen-identity", Claims: claims})
	if err != nil {
		b.Fatal(err)
	}
	return o
}

// BenchmarkIssueReplicas runs the wallet library's whole OpenID4VCI flow
// (offer by reference, metadata, token with tx_code, nonce, a batch of 3
// credentials) from GOMAXPROCS×4 wallets at once, each request sent to
// the next replica in turn, on SQLite and on PostgreSQL with one and
// three replicas. The staff created the offers beforehand. It reports
// credentials/s (3 per flow); the wallets share the CPUs.
func BenchmarkIssueReplicas(b *testing.B) {
	const copies = 3
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			cs, hc := benchCity(b, e.pg, e.replicas)
			offers := make(chan *issuer.Offer, b.N)
			for range b.N {
				offers <- identityOffer(b, cs[len(offers)%len(cs)])
			}
			wallets := make(chan *wallet.Wallet, 64)
			for range cap(wallets) {
				wallets <- benchWallet(b, cs[0], hc, copies)
			}
			var failed atomic.Int64
			b.SetParallelism(benchParallelism)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				w := <-wallets
				for pb.Next() {
					o := <-offers
					if _, err := w.Receive(context.Background(), o.OfferURI, o.TxCode); err != nil {
						// Counted, not fatal: a PostgreSQL issuer can give up
						// on serialization failures (see docs/benchmarks.md).
						b.Logf("receive: %v", err)
						failed.Add(1)
					}
				}
			})
			b.ReportMetric(float64((int64(b.N)-failed.Load())*copies)/time.Since(start).Seconds(), "credentials/s")
			b.ReportMetric(float64(failed.Load()), "failed_flows")
		})
	}
}

// BenchmarkPresentReplicas has GOMAXPROCS×4 wallets answer identity-basic
// requests at once: each timed round a counter on the next replica
// creates the session, the wallet fetches the request object, matches,
// signs and posts the response (requests to the issuer's host, the
// status list among them, go to the next replica in turn), and the
// verifier verifies it in full and completes the session durably. Every
// session must end accepted. It reports verified presentations/s.
func BenchmarkPresentReplicas(b *testing.B) {
	const copies = 5
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			cs, hc := benchCity(b, e.pg, e.replicas)
			counters := make([]*verifier.Counter, len(cs))
			for i, c := range cs {
				ctr, err := c.Verifier.Authenticate(context.Background(), c.CounterTokens["identity-basic"])
				if err != nil {
					b.Fatal(err)
				}
				counters[i] = ctr
			}
			// Enough one-time copies in each wallet for its share of b.N,
			// so that no presentation waits for a refill; received one
			// at a time (see BenchmarkIssueReplicas's failed_flows).
			n := runtime.GOMAXPROCS(0) * benchParallelism
			per := b.N/n + 1
			wallets := make(chan *wallet.Wallet, n)
			for range n {
				w := benchWallet(b, cs[0], hc, copies)
				for range (per+copies-1)/copies + 1 {
					o := identityOffer(b, cs[0])
					if _, err := w.Receive(context.Background(), o.OfferURI, o.TxCode); err != nil {
						b.Fatalf("receive: %v", err)
					}
				}
				wallets <- w
			}
			type done struct {
				replica int
				id      string
			}
			var mu sync.Mutex
			var sessions []done
			var next atomic.Int64
			b.SetParallelism(benchParallelism)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				w := <-wallets
				ctx := context.Background()
				for pb.Next() {
					i := int(next.Add(1)) % len(cs)
					sess, err := cs[i].Verifier.CreateSession(ctx, counters[i], verifier.NewRequest{Purpose: "identity-basic"})
					if err != nil {
						b.Errorf("session: %v", err)
						return
					}
					req, err := w.Match(ctx, sess.RequestURI)
					if err == nil {
						_, err = w.Present(ctx, req, func(context.Context, *wallet.ConsentRequest) (wallet.Decision, error) {
							return wallet.Decision{Approve: true}, nil
						})
					}
					if err != nil {
						b.Errorf("present: %v", err)
						return
					}
					mu.Lock()
					sessions = append(sessions, done{i, sess.ID})
					mu.Unlock()
				}
			})
			elapsed := time.Since(start)
			b.StopTimer()
			for _, s := range sessions {
				got, err := cs[s.replica].Verifier.Session(context.Background(), counters[s.replica], s.id)
				if err != nil || got.Status != verifier.StatusAccepted {
					b.Fatalf("session %s = %+v, %v; want accepted", s.id, got, err)
				}
			}
			if len(sessions) != b.N {
				b.Fatalf("%d presentations, want %d", len(sessions), b.N)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "presentations/s")
		})
	}
}
