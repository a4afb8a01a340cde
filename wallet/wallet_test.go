//go:build !js

package wallet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tongid/tong/internal/httpx"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/sqlitedb"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/issuer/oid4vci"
	"github.com/tongid/tong/wallet"
)

// fastKDF keeps tests quick; DefaultKDF is measured in the benchmarks.
var fastKDF = wallet.KDF{Alg: "argon2id", Time: 1, Memory: 8 << 10, Threads: 1}

func newWallet(t testing.TB, opts wallet.Options) (*wallet.Wallet, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wallet.db")
	if opts.KDF.Alg == "" {
		opts.KDF = fastKDF
	}
	w, err := wallet.Create(context.Background(), path, []byte("correct horse"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, path
}

// issuerEnv is our issuer on a loopback server, agency "psb".
type issuerEnv struct {
	srv   *httptest.Server
	svc   *issuer.Service
	token string
	mux   *http.ServeMux // extra routes tests add (hostile variants)
}

var demoTypes = sync.OnceValue(func() map[string]*issuer.CredentialType {
	ts, err := issuer.DemoTypes()
	if err != nil {
		panic(err)
	}
	return ts
})

func newIssuer(t testing.TB) *issuerEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlitedb.Open(ctx, filepath.Join(dir, "i.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	kd, _ := keys.OpenDir(filepath.Join(dir, "keys"), make([]byte, keys.MasterKeySize))
	if _, err := kd.Create("org-psb", keys.ES256); err != nil {
		t.Fatal(err)
	}
	svc, err := issuer.New(ctx, issuer.Config{DB: db, Keys: kd, Secret: make([]byte, 32), AllowLoopbackHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	e := &issuerEnv{svc: svc, mux: http.NewServeMux()}
	api := httpx.Recover(oid4vci.New(svc).Routes())
	e.mux.Handle("/", api)
	e.srv = httptest.NewServer(e.mux)
	t.Cleanup(e.srv.Close)
	if err := svc.AddAgency(ctx, issuer.Agency{Slug: "psb", Name: "Beijing Municipal Public Security Bureau", IssuerURL: e.srv.URL + "/issuers/psb",
		DID: "did:tong:zTest", KeyName: "org-psb", KeyID: "did:tong:zTest#key-1"}); err != nil {
		t.Fatal(err)
	}
	for _, ty := range demoTypes() {
		if err := svc.PutType(ctx, "psb", "test", ty); err != nil {
			t.Fatal(err)
		}
	}
	e.token, _, _ = svc.CreateAPIToken(ctx, "psb", "test", "test")
	return e
}

// offer creates an offer and returns its URI and PIN.
func (e *issuerEnv) offer(t testing.TB, typ string) (*issuer.Offer, error) {
	t.Helper()
	return e.svc.CreateOffer(context.Background(), "psb", "test", issuer.OfferRequest{Type: typ, Claims: demoTypes()[typ].ExampleClaims})
}

func loopbackOpts(srv *httptest.Server) wallet.Options {
	return wallet.Options{HTTPClient: srv.Client(), AllowLoopbackHTTP: true, Copies: 3, KDF: fastKDF}
}

func TestReceiveFromOurIssuer(t *testing.T) {
	e := newIssuer(t)
	w, path := newWallet(t, loopbackOpts(e.srv))
	o, err := e.offer(t, "citizen-identity")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Receive(t.Context(), o.OfferURI, ""); wallet.CodeOf(err) != wallet.CodeTxCodeRequired {
		t.Fatalf("no PIN: %v", err)
	}
	c, err := w.Receive(t.Context(), o.OfferURI, o.TxCode)
	if err != nil {
		t.Fatal(err)
	}
	if c.VCT != "urn:tong:vct:citizen-identity:1" || c.CopiesLeft != 3 || c.Claims["family_name"] != "王" || c.IssuerName == "" {
		t.Fatalf("received %+v", c)
	}
	if _, ok := c.Claims["cnf"]; ok {
		t.Error("registered claims are kept as subject claims")
	}
	// The issuer heard the wallet's acknowledgement.
	info, err := e.svc.CredentialInfo(t.Context(), "psb", o.CredentialID)
	if err != nil || info.Notified != "credential_accepted" || info.Copies != 3 {
		t.Fatalf("issuer record %+v %v", info, err)
	}
	// Nothing readable in the file: no claim value, no key.
	w.Close()
	raw, _ := os.ReadFile(path)
	wal, _ := os.ReadFile(path + "-wal")
	for _, needle := range []string{"王", "110101199005170034", `"d":`, "citizen-identity"} {
		if bytes.Contains(raw, []byte(needle)) || bytes.Contains(wal, []byte(needle)) {
			t.Errorf("the wallet file holds %q in the clear", needle)
		}
	}
	w2, err := wallet.Open(t.Context(), path, []byte("correct horse"), loopbackOpts(e.srv))
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	cs, err := w2.Credentials(t.Context())
	if err != nil || len(cs) != 1 || cs[0].ID != c.ID {
		t.Fatalf("after reopen: %v %v", cs, err)
	}
	if s := cs[0].String(); strings.Contains(s, "王") {
		t.Errorf("String() shows claims: %s", s)
	}
}

func TestReceiveRevokedIsRefused(t *testing.T) {
	e := newIssuer(t)
	// An issuer that marks everything revoked at once: the wallet checks
	// status before keeping anything.
	w, _ := newWallet(t, loopbackOpts(e.srv))
	o, _ := e.offer(t, "citizen-identity")
	var once sync.Once
	e.mux.HandleFunc("/issuers/psb/status/", func(rw http.ResponseWriter, r *http.Request) {
		once.Do(func() { _, _ = e.svc.SetStatus(r.Context(), "psb", "test", o.CredentialID, issuer.StatusRevoked) })
		oid4vci.New(e.svc).Routes().ServeHTTP(rw, r)
	})
	_, err := w.Receive(t.Context(), o.OfferURI, o.TxCode)
	if wallet.CodeOf(err) != wallet.CodeCredentialRevoked {
		t.Fatalf("revoked at issuance: %v", err)
	}
	if cs, _ := w.Credentials(t.Context()); len(cs) != 0 {
		t.Fatal("a revoked credential was stored")
	}
	if info, _ := e.svc.CredentialInfo(t.Context(), "psb", o.CredentialID); info.Notified != "credential_failure" {
		t.Errorf("issuer was told %q, want credential_failure", info.Notified)
	}
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	e := newIssuer(t)
	w, path := newWallet(t, loopbackOpts(e.srv))
	o, _ := e.offer(t, "beijing-residence")
	if _, err := w.Receive(ctx, o.OfferURI, o.TxCode); err != nil {
		t.Fatal(err)
	}
	w.Close()

	t.Run("wrong passphrase", func(t *testing.T) {
		_, err := wallet.Open(ctx, path, []byte("wrong"), wallet.Options{})
		if !errors.Is(err, wallet.ErrWrongPassphrase) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("change passphrase", func(t *testing.T) {
		w, err := wallet.Open(ctx, path, []byte("correct horse"), wallet.Options{KDF: fastKDF})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.ChangePassphrase(ctx, []byte("battery staple")); err != nil {
			t.Fatal(err)
		}
		w.Close()
		if _, err := wallet.Open(ctx, path, []byte("correct horse"), wallet.Options{}); !errors.Is(err, wallet.ErrWrongPassphrase) {
			t.Fatalf("old passphrase still works: %v", err)
		}
		w, err = wallet.Open(ctx, path, []byte("battery staple"), wallet.Options{KDF: fastKDF})
		if err != nil {
			t.Fatal(err)
		}
		if cs, err := w.Credentials(ctx); err != nil || len(cs) != 1 {
			t.Fatalf("%v %v", cs, err)
		}
		if err := w.ChangePassphrase(ctx, []byte("correct horse")); err != nil {
			t.Fatal(err)
		}
		w.Close()
	})
	t.Run("backup round trip", func(t *testing.T) {
		w, err := wallet.Open(ctx, path, []byte("correct horse"), wallet.Options{KDF: fastKDF})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := w.Export(ctx, &buf, []byte("backup pass")); err != nil {
			t.Fatal(err)
		}
		before, _ := w.Credentials(ctx)
		w.Close()
		if bytes.Contains(buf.Bytes(), []byte("东城区")) {
			t.Fatal("the backup holds claims in the clear")
		}
		if _, err := wallet.Import(ctx, filepath.Join(t.TempDir(), "x.db"), bytes.NewReader(buf.Bytes()), []byte("nope"), wallet.Options{KDF: fastKDF}); !errors.Is(err, wallet.ErrWrongPassphrase) {
			t.Fatalf("import with the wrong passphrase: %v", err)
		}
		w2, err := wallet.Import(ctx, filepath.Join(t.TempDir(), "restored.db"), bytes.NewReader(buf.Bytes()), []byte("backup pass"), wallet.Options{KDF: fastKDF})
		if err != nil {
			t.Fatal(err)
		}
		defer w2.Close()
		after, err := w2.Credentials(ctx)
		if err != nil || len(after) != 1 || after[0].ID != before[0].ID || after[0].CopiesLeft != before[0].CopiesLeft {
			t.Fatalf("restored %v %v, want %v", after, err, before)
		}
	})
	t.Run("flipped byte in a record", func(t *testing.T) {
		cp := filepath.Join(t.TempDir(), "c.db")
		w, _ := wallet.Open(ctx, path, []byte("correct horse"), wallet.Options{KDF: fastKDF})
		// Checkpoint the WAL into the main file so the copy is whole.
		var buf bytes.Buffer
		_ = w.Export(ctx, &buf, []byte("x"))
		w.Close()
		w, err := wallet.Import(ctx, cp, &buf, []byte("x"), wallet.Options{KDF: fastKDF})
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		flipInRecord(t, cp)
		w, err = wallet.Open(ctx, cp, []byte("x"), wallet.Options{KDF: fastKDF})
		if err != nil {
			if !errors.Is(err, wallet.ErrCorrupt) {
				t.Fatalf("open: %v", err)
			}
			return
		}
		defer w.Close()
		cs, err := w.Credentials(ctx)
		if !errors.Is(err, wallet.ErrCorrupt) || cs != nil {
			t.Fatalf("damaged record: %v, %d credentials returned", err, len(cs))
		}
	})
	t.Run("flipped byte in the file header", func(t *testing.T) {
		cp := filepath.Join(t.TempDir(), "h.db")
		raw, _ := os.ReadFile(path)
		raw[20] ^= 0xff // "maximum embedded payload fraction": SQLite refuses the file
		_ = os.WriteFile(cp, raw, 0o600)
		w, err := wallet.Open(ctx, cp, []byte("correct horse"), wallet.Options{})
		if err == nil {
			_, err = w.Credentials(ctx)
			w.Close()
		}
		if err == nil {
			t.Fatal("a damaged file opened cleanly")
		}
	})
}

// flipInRecord flips one byte inside the largest sealed record of a
// wallet file (its ciphertext is the longest run of high-entropy bytes).
func flipInRecord(t *testing.T, path string) {
	t.Helper()
	db, err := sqlitedb.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var sealed []byte
	if err := db.Reader().QueryRow(`SELECT sealed FROM wallet_records WHERE kind = 'credential' LIMIT 1`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, _ := os.ReadFile(path)
	i := bytes.Index(raw, sealed[40:80])
	if i < 0 {
		t.Fatal("record not found in the file")
	}
	raw[i+10] ^= 0x01
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(path + "-wal")
	_ = os.Remove(path + "-shm")
}

var _ = json.Marshal
