//go:build js && wasm

package idbstore_test

// These tests need a browser's IndexedDB: browser_test.go builds them
// with GOOS=js GOARCH=wasm and runs them in headless Chromium.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"testing"

	"github.com/tongid/tong/wallet"
	"github.com/tongid/tong/wallet/idbstore"
	"github.com/tongid/tong/wallet/memstore"
)

var _ wallet.Store = (*idbstore.Store)(nil)

var quickKDF = wallet.KDF{Alg: "argon2id", Time: 1, Memory: 8 << 10, Threads: 1}

func open(t *testing.T, name string) *idbstore.Store {
	t.Helper()
	ctx := context.Background()
	if err := idbstore.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	s, err := idbstore.Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStoreContract checks what wallet.Store asks of an implementation.
func TestStoreContract(t *testing.T) {
	ctx := context.Background()
	s := open(t, "contract")
	defer s.Close()
	if _, err := s.Meta(ctx, "kdf"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Meta of a missing name: %v, want fs.ErrNotExist", err)
	}
	if err := s.SetMeta(ctx, map[string][]byte{"a": {1, 2}, "b": {3}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta(ctx, map[string][]byte{"b": nil}); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Meta(ctx, "a"); err != nil || !bytes.Equal(v, []byte{1, 2}) {
		t.Fatalf("Meta(a) = %v, %v", v, err)
	}
	if _, err := s.Meta(ctx, "b"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Meta(b) after delete: %v", err)
	}
	// Nanosecond times beyond 2^53 keep every digit.
	const t1, t2 = 1764730000123456789, 1764730000123456790
	for _, r := range []struct {
		kind, id string
		created  int64
	}{{"credential", "c2", t2}, {"credential", "c1", t1}, {"receipt", "r1", t1}} {
		if err := s.Put(ctx, r.kind, r.id, r.created, []byte(r.id)); err != nil {
			t.Fatal(err)
		}
	}
	// A replace keeps kind and created.
	if err := s.Put(ctx, "credential", "c1", t2+100, []byte("c1'")); err != nil {
		t.Fatal(err)
	}
	var got []string
	var times []int64
	if err := s.List(ctx, "credential", func(kind, id string, created int64, sealed []byte) error {
		got, times = append(got, id+"="+string(sealed)), append(times, created)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "c1=c1'" || got[1] != "c2=c2" || times[0] != t1 || times[1] != t2 {
		t.Fatalf("List(credential) = %v %v", got, times)
	}
	n := 0
	s.List(ctx, "", func(string, string, int64, []byte) error { n++; return nil })
	if n != 3 {
		t.Fatalf("List(\"\") gave %d records, want 3", n)
	}
	if _, err := s.Get(ctx, "receipt", "c1"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get with the wrong kind: %v", err)
	}
	if err := s.Delete(ctx, "credential", "c2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "credential", "c2"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("second Delete: %v", err)
	}
}

// TestWalletOnIndexedDB: a wallet made on IndexedDB survives closing (a
// reload), keeps its lockout count there, and restores the backup the
// native test made with the CLI's SQLite store (TONG_BACKUP_URL).
func TestWalletOnIndexedDB(t *testing.T) {
	ctx := context.Background()
	s := open(t, "wallet")
	w, err := wallet.New(ctx, s, []byte("482916"), wallet.Options{KDF: quickKDF})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if ok, err := idbstore.Exists(ctx, "wallet"); err != nil || !ok {
		t.Fatalf("Exists after create = %v, %v", ok, err)
	}
	if ok, err := idbstore.Exists(ctx, "no-such-wallet"); err != nil || ok {
		t.Fatalf("Exists of another name = %v, %v", ok, err)
	}
	s, _ = idbstore.Open(ctx, "wallet")
	if _, err := wallet.Unlock(ctx, s, []byte("000000"), wallet.Options{}); !errors.Is(err, wallet.ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	s.Close()
	s, _ = idbstore.Open(ctx, "wallet")
	_, err = wallet.Unlock(ctx, s, []byte("000000"), wallet.Options{})
	var wp *wallet.WrongPassphraseError
	if !errors.As(err, &wp) || wp.TriesLeft != wallet.LockoutFreeTries-2 {
		t.Fatalf("the second wrong try after reopening: %v; the count must survive", err)
	}
	w, err = wallet.Unlock(ctx, s, []byte("482916"), wallet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := idbstore.Delete(ctx, "wallet"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := idbstore.Exists(ctx, "wallet"); ok {
		t.Fatal("the wallet is still there after Delete")
	}

	u := os.Getenv("TONG_BACKUP_URL")
	if u == "" {
		t.Fatal("TONG_BACKUP_URL is not set: run through browser_test.go")
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	backup, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	s = open(t, "restored")
	rw, err := wallet.Restore(ctx, s, bytes.NewReader(backup), []byte("cli pass"), wallet.Options{KDF: quickKDF})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := rw.Credentials(ctx)
	if err != nil || len(cs) != 2 || cs[0].Claims["family_name"] != "王" {
		t.Fatalf("the CLI's backup restored in IndexedDB: %d credentials, %v", len(cs), err)
	}
	var again bytes.Buffer
	if err := rw.Export(ctx, &again, []byte("phone pass")); err != nil {
		t.Fatal(err)
	}
	rw.Close()
	// Send it back for the native side to import into SQLite.
	resp, err = http.Post(u, "application/json", &again)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("posting the phone's backup: %v", err)
	}
}

// TestNoRedirectsInBrowser: in the browser net/http goes through fetch,
// which would follow a redirect on its own; the wallet must not. The
// native side serves TONG_REDIRECT_URL as a 302 to a valid offer.
func TestNoRedirectsInBrowser(t *testing.T) {
	ctx := context.Background()
	u := os.Getenv("TONG_REDIRECT_URL")
	if u == "" {
		t.Fatal("TONG_REDIRECT_URL is not set: run through browser_test.go")
	}
	w, err := wallet.New(ctx, memstore.New(), []byte("482916"), wallet.Options{KDF: quickKDF, AllowLoopbackHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// The target itself is a valid offer (so the check is not vacuous).
	if _, err := w.ParseOffer(ctx, "openid-credential-offer://?credential_offer_uri="+url.QueryEscape(u+"-target")); err != nil {
		t.Fatalf("the redirect's target is not a valid offer: %v", err)
	}
	_, err = w.ParseOffer(ctx, "openid-credential-offer://?credential_offer_uri="+url.QueryEscape(u))
	if err == nil {
		t.Fatal("the wallet followed a redirect in the browser")
	}
}
