//go:build !js

package wallet_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tongid/tong/wallet"
)

// thousand builds, once per benchmark, a wallet of 1,000 credentials
// (3 copies each) received from our issuer, under DefaultKDF.
func thousand(b *testing.B) (string, *wallet.Wallet) {
	b.Helper()
	e := newIssuer(b)
	path := filepath.Join(b.TempDir(), "w.db")
	opts := loopbackOpts(e.srv)
	opts.KDF = wallet.DefaultKDF
	w, err := wallet.Create(context.Background(), path, []byte("correct horse"), opts)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		typ := "citizen-identity"
		if i%2 == 1 {
			typ = "beijing-residence"
		}
		o, err := e.offer(b, typ)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Receive(context.Background(), o.OfferURI, o.TxCode); err != nil {
			b.Fatal(err)
		}
	}
	return path, w
}

// BenchmarkOpen1000 opens a wallet of 1,000 credentials and lists them:
// Argon2id (DefaultKDF: t=2, m=64 MiB, p=2) plus 1,000 record decryptions.
func BenchmarkOpen1000(b *testing.B) {
	path, w := thousand(b)
	w.Close()
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		w, err := wallet.Open(ctx, path, []byte("correct horse"), wallet.Options{})
		if err != nil {
			b.Fatal(err)
		}
		cs, err := w.Credentials(ctx)
		if err != nil || len(cs) != 1000 {
			b.Fatalf("%d credentials, %v", len(cs), err)
		}
		w.Close()
	}
}

// BenchmarkArgon2id is the KDF alone, the floor of Open.
func BenchmarkArgon2id(b *testing.B) {
	k := wallet.DefaultKDF
	k.Salt = make([]byte, 16)
	for b.Loop() {
		wallet.DeriveForBenchmark(k, []byte("correct horse"))
	}
}

// BenchmarkMatch1000 evaluates a DCQL query over the 1,000 credentials,
// without network: Match of a request already fetched.
func BenchmarkMatch1000(b *testing.B) {
	_, w := thousand(b)
	defer w.Close()
	cs, err := w.Credentials(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		res, err := wallet.MatchCredentials(cs, []byte(ageQuery))
		if err != nil || !res.Satisfied || len(res.Candidates["pid"]) != 500 {
			b.Fatalf("%v %v", res, err)
		}
	}
}
