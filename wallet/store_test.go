package wallet_test

// These tests use only the memory store and the credential library, so
// they run natively and under GOOS=js GOARCH=wasm (Node), where the
// browser wallet runs the same sealing, lockout and backup code.

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/wallet"
	"github.com/tongid/tong/wallet/memstore"
)

var quickKDF = wallet.KDF{Alg: "argon2id", Time: 1, Memory: 8 << 10, Threads: 1}

// clock is a settable time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// TestLockoutRule: five free tries, then 30 s, doubling, capped at an
// hour; refused even with the right passphrase while it lasts; reset by
// a right passphrase; kept in the store across reopening.
func TestLockoutRule(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	opts := wallet.Options{KDF: quickKDF, Now: clk.now}
	w, err := wallet.New(ctx, s, []byte("right"), opts)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	for i := 1; i < wallet.LockoutFreeTries; i++ {
		_, err := wallet.Unlock(ctx, s, []byte("wrong"), opts)
		var wp *wallet.WrongPassphraseError
		if !errors.As(err, &wp) || !errors.Is(err, wallet.ErrWrongPassphrase) || wp.TriesLeft != wallet.LockoutFreeTries-i {
			t.Fatalf("wrong try %d: %v, want ErrWrongPassphrase with %d tries left", i, err, wallet.LockoutFreeTries-i)
		}
	}
	for _, want := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute} {
		_, err := wallet.Unlock(ctx, s, []byte("wrong"), opts)
		var lo *wallet.LockedOutError
		if !errors.As(err, &lo) || !errors.Is(err, wallet.ErrLockedOut) || lo.RetryAfter != want {
			t.Fatalf("wrong try past the free ones: %v, want a lockout of %v", err, want)
		}
		if _, err := wallet.Unlock(ctx, s, []byte("right"), opts); !errors.Is(err, wallet.ErrLockedOut) {
			t.Fatalf("the right passphrase during the lockout: %v, want ErrLockedOut", err)
		}
		clk.t = clk.t.Add(want)
	}
	for range 20 {
		wallet.Unlock(ctx, s, []byte("wrong"), opts)
		clk.t = clk.t.Add(2 * time.Hour)
	}
	clk.t = clk.t.Add(-2 * time.Hour)
	if _, err := wallet.Unlock(ctx, s, []byte("right"), opts); !errors.Is(err, wallet.ErrLockedOut) {
		t.Fatalf("the right passphrase during the lockout: %v", err)
	}
	var lo *wallet.LockedOutError
	_, err = wallet.Unlock(ctx, s, []byte("right"), opts)
	if !errors.As(err, &lo) || lo.RetryAfter > wallet.LockoutMax {
		t.Fatalf("lockout after many tries: %v, want at most %v", err, wallet.LockoutMax)
	}
	clk.t = clk.t.Add(wallet.LockoutMax)
	w, err = wallet.Unlock(ctx, s, []byte("right"), opts)
	if err != nil {
		t.Fatalf("the right passphrase after the lockout: %v", err)
	}
	w.Close()
	// The count was reset: a wrong try has every free try left again.
	_, err = wallet.Unlock(ctx, s, []byte("wrong"), opts)
	var wp *wallet.WrongPassphraseError
	if !errors.As(err, &wp) || wp.TriesLeft != wallet.LockoutFreeTries-1 {
		t.Fatalf("after a right passphrase: %v, want %d tries left", err, wallet.LockoutFreeTries-1)
	}
}

// tamperStore flips a bit in every sealed record it returns.
type tamperStore struct{ *memstore.Store }

func (s tamperStore) Get(ctx context.Context, kind, id string) ([]byte, error) {
	b, err := s.Store.Get(ctx, kind, id)
	if err == nil {
		b[len(b)-1] ^= 1
	}
	return b, err
}

func (s tamperStore) List(ctx context.Context, kind string, each func(kind, id string, created int64, sealed []byte) error) error {
	return s.Store.List(ctx, kind, func(k, id string, c int64, b []byte) error {
		b[len(b)/2] ^= 1
		return each(k, id, c, b)
	})
}

// holderCredential issues an SD-JWT VC to a fresh holder key, as an
// issuer would, with family_name and age_equal_or_over.18 disclosable.
func holderCredential(t testing.TB, issuerKey crypto.Signer) (string, crypto.Signer) {
	t.Helper()
	h, err := keys.Generate(nil, keys.ES256)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := credential.IssueVC(issuerKey, credential.VC{Issuer: "https://issuer.example", VCT: "urn:tong:vct:citizen-identity:1",
		KeyID: "k1", Holder: h.Public(), Expiry: time.Now().Add(24 * time.Hour),
		Claims:      map[string]any{"family_name": "王", "given_name": "小明", "age_equal_or_over": map[string]any{"18": true, "60": false}},
		Disclosable: []credential.Path{{"family_name"}, {"given_name"}, {"age_equal_or_over", "18"}, {"age_equal_or_over", "60"}}}, credential.IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sd, h.Unwrap()
}

func seeded(t testing.TB, s wallet.Store, copies int) (*wallet.Wallet, crypto.Signer) {
	t.Helper()
	ctx := context.Background()
	w, err := wallet.New(ctx, s, []byte("right"), wallet.Options{KDF: quickKDF})
	if err != nil {
		t.Fatal(err)
	}
	iss, _ := keys.Generate(nil, keys.ES256)
	var sds []string
	var hs []crypto.Signer
	for range copies {
		sd, h := holderCredential(t, iss.Unwrap())
		sds, hs = append(sds, sd), append(hs, h)
	}
	claims := map[string]any{"family_name": "王", "given_name": "小明", "age_equal_or_over": map[string]any{"18": true, "60": false}}
	if err := wallet.AddCopiesForTest(ctx, w, "cred_1", "urn:tong:vct:citizen-identity:1", claims, sds, hs); err != nil {
		t.Fatal(err)
	}
	return w, iss.Unwrap()
}

// TestSealedStore: the store sees only sealed bytes; a flipped bit makes
// the read fail with ErrCorrupt, never a partial or altered credential;
// a backup restores into another store.
func TestSealedStore(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	w, _ := seeded(t, s, 2)
	err := s.List(ctx, "", func(kind, id string, _ int64, sealed []byte) error {
		if bytes.Contains(sealed, []byte("王")) || bytes.Contains(sealed, []byte("family_name")) {
			t.Errorf("record %s/%s holds claims in the clear", kind, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := w.Export(ctx, &buf, []byte("backup")); err != nil {
		t.Fatal(err)
	}
	w.Close()

	tw, err := wallet.Unlock(ctx, tamperStore{s}, []byte("right"), wallet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cs, err := tw.Credentials(ctx); !errors.Is(err, wallet.ErrCorrupt) || cs != nil {
		t.Fatalf("Credentials from a tampered store = %v, %v; want ErrCorrupt and nothing", cs, err)
	}
	if _, err := tw.Credential(ctx, "cred_1"); !errors.Is(err, wallet.ErrCorrupt) {
		t.Fatalf("Credential from a tampered store: %v, want ErrCorrupt", err)
	}

	other := memstore.New()
	if _, err := wallet.Restore(ctx, other, bytes.NewReader(buf.Bytes()), []byte("nope"), wallet.Options{}); !errors.Is(err, wallet.ErrWrongPassphrase) {
		t.Fatalf("Restore with a wrong passphrase: %v", err)
	}
	if ok, _ := wallet.Exists(ctx, other); ok {
		t.Fatal("a failed Restore left a wallet behind")
	}
	rw, err := wallet.Restore(ctx, other, bytes.NewReader(buf.Bytes()), []byte("backup"), wallet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	c, err := rw.Credential(ctx, "cred_1")
	if err != nil || c.CopiesLeft != 2 || c.Claims["family_name"] != "王" {
		t.Fatalf("restored credential %+v, %v", c, err)
	}
	if _, err := wallet.New(ctx, other, []byte("x"), wallet.Options{KDF: quickKDF}); !errors.Is(err, wallet.ErrExists) {
		t.Fatalf("New over a wallet: %v, want ErrExists", err)
	}
	if _, err := other.Get(ctx, "credential", "nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("memstore Get of a missing record: %v", err)
	}
}

// TestPresentOffline: the wallet's side of a presentation, without the
// network, verifies, and spends one copy each time.
func TestPresentOffline(t *testing.T) {
	ctx := context.Background()
	w, iss := seeded(t, memstore.New(), 2)
	defer w.Close()
	for i := range 2 {
		vp, err := wallet.PresentForBenchmark(ctx, w, []byte(presentQuery), "n-0S6_WzA2Mj", "decentralized_identifier:did:tong:zCounter")
		if err != nil {
			t.Fatal(err)
		}
		v := &credential.Verifier{Keys: credential.StaticIssuerKeys{"https://issuer.example": iss.Public()}}
		res, err := v.Verify(ctx, vp, credential.VerifyOptions{KeyBinding: &credential.KBPolicy{Nonce: "n-0S6_WzA2Mj", Audience: "decentralized_identifier:did:tong:zCounter"}})
		if err != nil {
			t.Fatalf("presentation %d does not verify: %v", i, err)
		}
		if _, ok := res.Claims["given_name"]; ok || res.Claims["family_name"] != "王" {
			t.Fatalf("presentation %d disclosed %v", i, res.Claims)
		}
	}
	if _, err := wallet.PresentForBenchmark(ctx, w, []byte(presentQuery), "n", "aud"); wallet.CodeOf(err) != wallet.CodeCopiesExhausted {
		t.Fatalf("a third presentation from two copies: %v, want %s", err, wallet.CodeCopiesExhausted)
	}
}

const presentQuery = `{"credentials":[{"id":"pid","format":"dc+sd-jwt","meta":{"vct_values":["urn:tong:vct:citizen-identity:1"]},
 "claims":[{"path":["family_name"]},{"path":["age_equal_or_over","18"]}]}]}`

// BenchmarkPresentation is the wallet's work in one presentation (list
// and match, spend a one-time copy, build SD-JWT+KB-JWT), without the
// network. Run natively and under GOOS=js GOARCH=wasm for the ratio in
// docs/benchmarks.md; ES256Sign is the raw crypto beside it.
func BenchmarkPresentation(b *testing.B) {
	ctx := context.Background()
	b.Run("Wallet", func(b *testing.B) {
		const batch = 5 // Options.Copies: a credential as received
		w, iss := seeded(b, memstore.New(), batch)
		defer w.Close()
		left := batch
		for i := 0; i < b.N; i++ {
			if left == 0 {
				b.StopTimer()
				w.Close()
				w, _ = seeded(b, memstore.New(), batch)
				left = batch
				b.StartTimer()
			}
			if _, err := wallet.PresentForBenchmark(ctx, w, []byte(presentQuery), "n-0S6_WzA2Mj", "decentralized_identifier:did:tong:zCounter"); err != nil {
				b.Fatal(err)
			}
			left--
		}
		_ = iss
	})
	b.Run("ES256Sign", func(b *testing.B) {
		k, _ := keys.Generate(nil, keys.ES256)
		digest := make([]byte, 32)
		for b.Loop() {
			if _, err := k.Sign(nil, digest, crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkArgon2idParams measures the key derivation for the parameter
// sets docs/wallet-app.md compares (natively and in wasm).
func BenchmarkArgon2idParams(b *testing.B) {
	for _, tc := range []struct {
		name string
		k    wallet.KDF
	}{
		{"t3-m64MiB-p4", wallet.DefaultKDF},
		{"t3-m64MiB-p1", wallet.KDF{Alg: "argon2id", Time: 3, Memory: 64 << 10, Threads: 1}},
		{"t3-m32MiB-p1", wallet.KDF{Alg: "argon2id", Time: 3, Memory: 32 << 10, Threads: 1}},
		{"t2-m19MiB-p1", wallet.PhoneKDF},
		{"t1-m46MiB-p1", wallet.KDF{Alg: "argon2id", Time: 1, Memory: 46 << 10, Threads: 1}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			k := tc.k
			k.Salt = make([]byte, 16)
			for b.Loop() {
				wallet.DeriveForBenchmark(k, []byte("482916"))
			}
		})
	}
}

// TestDisplaySanitized: what an issuer puts in display metadata cannot
// inject style or script into the app.
func TestDisplaySanitized(t *testing.T) {
	in := []wallet.Display{
		{Name: "ok", BackgroundColor: "#12ab3F", TextColor: "#fff", Logo: &wallet.Logo{URI: "data:image/png;base64,iVBORw0KGgo=", AltText: "seal"}},
		{Name: "bad", BackgroundColor: "red;background:url(https://evil.example/x)", TextColor: "expression(alert(1))",
			Logo: &wallet.Logo{URI: "javascript:alert(1)"}},
		{Name: "html", Logo: &wallet.Logo{URI: "data:text/html;base64,PHNjcmlwdD4="}},
	}
	got := wallet.CleanDisplays(in)
	if len(got) != 3 {
		t.Fatalf("CleanDisplays kept %d displays, want 3", len(got))
	}
	if got[0].BackgroundColor != "#12ab3F" || got[0].TextColor != "#fff" || got[0].Logo == nil || got[0].Logo.AltText != "seal" {
		t.Errorf("a safe display was changed: %+v", got[0])
	}
	if got[1].BackgroundColor != "" || got[1].TextColor != "" || got[1].Logo != nil {
		t.Errorf("CSS or a javascript: logo got through: %+v", got[1])
	}
	if got[2].Logo != nil {
		t.Errorf("a data:text/html logo got through: %+v", got[2].Logo)
	}
}
