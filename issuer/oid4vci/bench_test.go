package oid4vci_test

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/internal/benchprof"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/issuer/oid4vci"
)

// BenchmarkIssuanceFlow runs the wallet's whole OpenID4VCI flow over
// loopback HTTP, GOMAXPROCS×4 wallets at once, each flow a batch of 3
// credentials: offer by reference → issuer metadata → token with tx_code →
// nonce → credential. The staff created the offers beforehand (as a bulk
// import does), outside the timer. The issuer runs on SQLite with
// synchronous=FULL. It reports credentials/s; the wallets share the CPUs.
func BenchmarkIssuanceFlow(b *testing.B) { benchFlow(b, false) }

// BenchmarkIssuanceFlowWithOffer also times the staff API call that
// creates each offer, one more durable write per flow.
func BenchmarkIssuanceFlowWithOffer(b *testing.B) { benchFlow(b, true) }

func benchFlow(b *testing.B, timeOffers bool) {
	e := newEnv(b, nil)
	tr := e.client.Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	e.client = &http.Client{Transport: tr}
	const batch = 3
	pool := newKeys(b, 64)
	var offers chan *oid4vci.OfferResponse
	if !timeOffers {
		offers = make(chan *oid4vci.OfferResponse, b.N)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range b.N / 8 {
					offers <- e.offer(b, "citizen-identity")
				}
			}()
		}
		wg.Wait()
		for len(offers) < b.N {
			offers <- e.offer(b, "citizen-identity")
		}
	}
	var next atomic.Int64
	var creds atomic.Int64
	b.SetParallelism(benchParallelism)
	stop := benchprof.Start(b)
	defer stop()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			var o *oid4vci.OfferResponse
			if timeOffers {
				o = e.offer(b, "citizen-identity")
			} else {
				o = <-offers
			}
			w := e.fetchOffer(b, o.OfferURI)
			if st, eb := w.redeem(b, w.code(), o.TxCode, nil); st != 200 {
				b.Fatalf("token: %d %+v", st, eb)
			}
			nonce := w.nonce(b)
			i := int(next.Add(batch))
			proofs := make([]string, batch)
			for j := range batch {
				proofs[j] = proof(b, pool[(i+j)%len(pool)], nil, w.proofClaims(nonce))
			}
			st, out := w.requestCredential(b, req(proofs...), nil)
			if st != 200 {
				b.Fatalf("credential: %d %v", st, out)
			}
			creds.Add(int64(len(out["credentials"].([]any))))
		}
	})
	elapsed := time.Since(start)
	b.ReportMetric(float64(creds.Load())/elapsed.Seconds(), "credentials/s")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)*benchParallelism), "wallets")
}

// BenchmarkRawIssuanceCrypto is the floor one credential costs: one ES256
// proof verification and one SD-JWT VC signature, on one core.
func BenchmarkRawIssuanceCrypto(b *testing.B) {
	e := newEnv(b, nil)
	holder := newKeys(b, 1)[0]
	p := proof(b, holder, nil, map[string]any{"aud": "x", "iat": 1, "nonce": "n"})
	jws, err := jose.Parse(p, 1<<14)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("payload"))
	signer := e.ag.Signer()
	b.ResetTimer()
	for b.Loop() {
		if err := jws.Verify(holder.Public()); err != nil {
			b.Fatal(err)
		}
		if _, err := signer.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssueOneCredential is the library cost of one credential on the
// issuer, without HTTP or the database: verify the proof, sign the SD-JWT VC
// with the citizen identity's disclosures.
func BenchmarkIssueOneCredential(b *testing.B) {
	e := newEnv(b, nil)
	holder := newKeys(b, 1)[0]
	p := proof(b, holder, nil, map[string]any{"aud": "x", "iat": 1, "nonce": "n"})
	ty, _ := e.svc.Type(b.Context(), "psb", "citizen-identity")
	b.ResetTimer()
	for b.Loop() {
		jws, err := jose.Parse(p, 1<<14)
		if err != nil {
			b.Fatal(err)
		}
		key, err := jose.ParsePublicJWK(jws.Header.JWK)
		if err != nil {
			b.Fatal(err)
		}
		if err := jws.Verify(key); err != nil {
			b.Fatal(err)
		}
		if _, err := credential.IssueVC(e.ag.Signer(), credential.VC{Issuer: e.ag.IssuerURL, VCT: ty.VCT, KeyID: e.ag.KeyID,
			Holder: key, Status: &credential.StatusRef{Index: 7, URI: e.ag.IssuerURL + "/status/x"}, Claims: ty.ExampleClaims,
			Disclosable: disclosable(ty)}, credential.IssueOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
