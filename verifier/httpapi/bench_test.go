package httpapi_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/internal/benchprof"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
)

// prepared is one session with the presentation that answers it.
type prepared struct {
	uri  string
	form url.Values
	body string // form, encoded once: the wallet's work, outside the timer
}

// prepare makes n sessions and their presentations, in parallel, from a
// pool of credentials: the wallets' work, done before the timer.
func prepare(b testing.TB, c *tongtest.City, n int) []prepared {
	counter, err := c.Verifier.Authenticate(context.Background(), c.CounterTokens["identity-basic"])
	if err != nil {
		b.Fatal(err)
	}
	type cred struct {
		sd     string
		holder *keys.Signer
	}
	pool := make([]cred, 32)
	for i := range pool {
		pool[i].sd, pool[i].holder = issueRaw(b, c, "psb", "citizen-identity")
	}
	out := make([]prepared, n)
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				s, err := c.Verifier.CreateSession(context.Background(), counter, verifier.NewRequest{Purpose: "identity-basic"})
				if err != nil {
					b.Error(err)
					return
				}
				p := params(b, c, s)
				cr := pool[i%len(pool)]
				vp, err := credential.Present(cr.sd, basicPaths, cr.holder, credential.KeyBinding{Nonce: p.Nonce, Audience: p.ClientID})
				if err != nil {
					b.Error(err)
					return
				}
				form := url.Values{"state": {p.State}, "vp_token": {vpToken("pid", vp)}}
				out[i] = prepared{uri: p.ResponseURI, form: form, body: form.Encode()}
			}
		}()
	}
	wg.Wait()
	return out
}

// BenchmarkVerifyResponse posts direct_post responses over loopback HTTP,
// GOMAXPROCS×4 at once, with warm caches: every response is fully
// verified (issuer signature and key in the registry, accreditation,
// status list, KB-JWT, nonce once, state) and its session completed
// durably (SQLite FULL, group commit).
func BenchmarkVerifyResponse(b *testing.B) {
	c := tongtest.New(b, tongtest.Options{})
	work := prepare(b, c, b.N+1)
	// Warm the caches with the first one.
	if st, code := post(b, c, work[0].uri, work[0].form); st != 200 {
		b.Fatalf("warm-up: %d %s", st, code)
	}
	work = work[1:]
	tr := c.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	hc := &http.Client{Transport: tr}
	var next atomic.Int64
	b.SetParallelism(4)
	stop := benchprof.Start(b)
	defer stop()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := work[next.Add(1)-1]
			resp, err := hc.Post(w.uri, "application/x-www-form-urlencoded", strings.NewReader(w.body))
			if err != nil {
				b.Error(err)
				return
			}
			// A wallet reads the answer (its redirect_uri); reading it to
			// the end also lets the connection be reused.
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "responses/s")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)*4), "clients")
}

// BenchmarkVerifyLibrary is the credential library's cost for the same
// presentation (issuer key resolved), and BenchmarkRawES256Verify2 the two
// signature checks it contains: the floor.
func BenchmarkVerifyLibrary(b *testing.B) {
	c := tongtest.New(b, tongtest.Options{})
	sd, holder := issueRaw(b, c, "psb", "citizen-identity")
	vp, _ := credential.Present(sd, basicPaths, holder, credential.KeyBinding{Nonce: "n", Audience: "a"})
	v := &credential.Verifier{Keys: credential.StaticIssuerKeys{c.PSB.IssuerURL: c.PSB.Signer().Public()}}
	b.ResetTimer()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), vp, credential.VerifyOptions{KeyBinding: &credential.KBPolicy{Nonce: "n", Audience: "a"}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawES256Verify2(b *testing.B) {
	k, _ := keys.Generate(nil, keys.ES256)
	d := sha256.Sum256([]byte("x"))
	sig, _ := k.Sign(rand.Reader, d[:], crypto.SHA256)
	pub := k.Public().(*ecdsa.PublicKey)
	for b.Loop() {
		for range 2 { // a presentation has two signatures: issuer and KB-JWT
			if !ecdsa.VerifyASN1(pub, d[:], sig) {
				b.Fatal("bad signature")
			}
		}
	}
}

// TestSoak runs a verification load for TONG_SOAK (e.g. 60s) and checks
// that memory stays flat: wallets and counters create sessions and
// presentations while the verifier checks them. It runs only when asked
// (make soak), because it takes a minute by design.
func TestSoak(t *testing.T) {
	d, _ := time.ParseDuration(os.Getenv("TONG_SOAK"))
	if d <= 0 {
		t.Skip("set TONG_SOAK=60s (make soak) to run the soak test")
	}
	c := tongtest.New(t, tongtest.Options{})
	deadline := time.Now().Add(d)
	var done atomic.Int64
	var rss []int64
	stopSampler := make(chan struct{})
	go func() {
		tick := time.NewTicker(d / 6)
		defer tick.Stop()
		for {
			select {
			case <-stopSampler:
				return
			case <-tick.C:
				runtime.GC()
				rss = append(rss, rssKiB())
			}
		}
	}()
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) * 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				for _, w := range prepare(t, c, 20) {
					if st, code := post(t, c, w.uri, w.form); st != 200 {
						t.Errorf("%d %s", st, code)
						return
					}
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(stopSampler)
	t.Logf("soak: %d verified responses in %v (%.0f/s, wallets and counters on the same CPUs); RSS samples (KiB): %v",
		done.Load(), d, float64(done.Load())/d.Seconds(), rss)
	if len(rss) >= 3 && rss[len(rss)-1] > rss[1]*3/2 {
		t.Errorf("RSS grew from %d KiB to %d KiB", rss[1], rss[len(rss)-1])
	}
}

func rssKiB() int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(f)[0], 10, 64)
			return n
		}
	}
	return 0
}
