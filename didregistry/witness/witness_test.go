package witness

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/didregistry/store"
	istore "github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/sqlitedb"
)

const origin = "tong.test/registry"

type testLog struct {
	log      *store.Log
	verifier note.Verifier
}

func newLog(t *testing.T, logKey ed25519.PrivateKey) *testLog {
	t.Helper()
	db, err := sqlitedb.Open(t.Context(), filepath.Join(t.TempDir(), "log.db"), istore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	signer, vkey, _ := didregistry.NewNoteSigner(origin, logKey)
	l, err := store.Open(t.Context(), store.Config{DB: db, Origin: origin, Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); db.Close() })
	v, _ := note.NewVerifier(vkey)
	return &testLog{log: l, verifier: v}
}

func (tl *testLog) grow(t *testing.T, n int) {
	t.Helper()
	for range n {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		mk, _ := did.EncodeMultikey(&k.PublicKey)
		id := didregistry.PlaceholderDID
		doc := &did.Document{Context: []any{did.ContextV1}, ID: id,
			VerificationMethods: []did.VerificationMethod{{ID: id + "#k", Type: "Multikey", Controller: id, PublicKeyMultibase: mk}}}
		op, err := didregistry.NewGenesis(k, doc, []crypto.PublicKey{&k.PublicKey}, nil, time.Now().Add(-time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := op.Canonical()
		if _, err := tl.log.Append(t.Context(), leaf); err != nil {
			t.Fatal(err)
		}
	}
}

type testWitness struct {
	srv      *httptest.Server
	verifier note.Verifier
	dbPath   string
}

func newWitness(t *testing.T, name string, logVerifier note.Verifier) *testWitness {
	t.Helper()
	path := filepath.Join(t.TempDir(), "w.db")
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	w, vkey := startWitness(t, path, name, key, logVerifier)
	v, err := NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Routes())
	t.Cleanup(srv.Close)
	return &testWitness{srv: srv, verifier: v, dbPath: path}
}

func startWitness(t *testing.T, path, name string, key ed25519.PrivateKey, logVerifier note.Verifier) (*Witness, string) {
	t.Helper()
	db, err := sqlitedb.Open(t.Context(), path, istore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	signer, vkey, err := NewCosigner(name, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(t.Context(), Config{DB: db, Signer: signer, Logs: map[string]note.Verifier{origin: logVerifier}})
	if err != nil {
		t.Fatal(err)
	}
	return w, vkey
}

func collector(tl *testLog, k int, ws ...*testWitness) *Collector {
	c := &Collector{K: k, Proofs: tl.log.ProveConsistency}
	for _, w := range ws {
		c.Witnesses = append(c.Witnesses, Endpoint{URL: w.srv.URL, Verifier: w.verifier})
	}
	return c
}

func TestCosignGrowingLog(t *testing.T) {
	t.Parallel()
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	tl := newLog(t, logKey)
	w1, w2 := newWitness(t, "w1.test/witness", tl.verifier), newWitness(t, "w2.test/witness", tl.verifier)
	c := collector(tl, 2, w1, w2)
	for round := range 4 {
		tl.grow(t, round+1)
		p := tl.log.Latest()
		cosigned, err := c.Cosign(t.Context(), p.Signed, p.Size)
		if err != nil {
			t.Fatalf("round %d: Cosign = %v", round, err)
		}
		n, err := note.Open(cosigned, note.VerifierList(tl.verifier, w1.verifier, w2.verifier))
		if err != nil || len(n.Sigs) != 3 {
			t.Fatalf("round %d: cosigned note has %d valid signatures (%v), want 3", round, len(n.Sigs), err)
		}
	}
}

// A log that rewinds or forks gets no cosignature from either witness.
func TestRewindAndForkGetNoCosignatures(t *testing.T) {
	t.Parallel()
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	honest := newLog(t, logKey)
	w1, w2 := newWitness(t, "w1.test/witness", honest.verifier), newWitness(t, "w2.test/witness", honest.verifier)
	honest.grow(t, 3)
	early := honest.log.Latest()
	honest.grow(t, 3)
	p := honest.log.Latest()
	if _, err := collector(honest, 2, w1, w2).Cosign(t.Context(), p.Signed, p.Size); err != nil {
		t.Fatal(err)
	}

	// Rewind: a fresh collector presents the older checkpoint.
	if _, err := collector(honest, 1, w1, w2).Cosign(t.Context(), early.Signed, early.Size); !errors.Is(err, ErrQuorum) {
		t.Errorf("rewind: Cosign = %v, want ErrQuorum", err)
	}

	// Fork: the same key signs another history of the same and a larger size.
	forked := newLog(t, logKey)
	forked.grow(t, 6)
	fp := forked.log.Latest()
	if _, err := collector(forked, 1, w1, w2).Cosign(t.Context(), fp.Signed, fp.Size); !errors.Is(err, ErrQuorum) {
		t.Errorf("fork at the same size: Cosign = %v, want ErrQuorum", err)
	}
	forked.grow(t, 4)
	fp = forked.log.Latest()
	if _, err := collector(forked, 1, w1, w2).Cosign(t.Context(), fp.Signed, fp.Size); !errors.Is(err, ErrQuorum) {
		t.Errorf("fork ahead: Cosign = %v, want ErrQuorum", err)
	}
	// The honest log still gets its cosignatures.
	honest.grow(t, 1)
	p = honest.log.Latest()
	if _, err := collector(honest, 2, w1, w2).Cosign(t.Context(), p.Signed, p.Size); err != nil {
		t.Errorf("honest log after the fork attempts: %v", err)
	}
}

func TestKOfN(t *testing.T) {
	t.Parallel()
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	tl := newLog(t, logKey)
	w1, w2 := newWitness(t, "w1.test/witness", tl.verifier), newWitness(t, "w2.test/witness", tl.verifier)
	w2.srv.Close() // down
	tl.grow(t, 2)
	p := tl.log.Latest()
	if _, err := collector(tl, 1, w1, w2).Cosign(t.Context(), p.Signed, p.Size); err != nil {
		t.Errorf("1 of 2 with one witness down: %v", err)
	}
	if _, err := collector(tl, 2, w1, w2).Cosign(t.Context(), p.Signed, p.Size); !errors.Is(err, ErrQuorum) {
		t.Errorf("2 of 2 with one witness down: %v, want ErrQuorum", err)
	}
}

// The witness's state survives a restart: it still refuses to go back.
func TestWitnessStateIsDurable(t *testing.T) {
	t.Parallel()
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	tl := newLog(t, logKey)
	path := filepath.Join(t.TempDir(), "w.db")
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	w, vkey := startWitness(t, path, "w.test/witness", key, tl.verifier)
	v, _ := NewVerifier(vkey)
	srv := httptest.NewServer(w.Routes())
	tl.grow(t, 5)
	p := tl.log.Latest()
	if _, err := (&Collector{K: 1, Proofs: tl.log.ProveConsistency, Witnesses: []Endpoint{{URL: srv.URL, Verifier: v}}}).Cosign(t.Context(), p.Signed, p.Size); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	w2, _ := startWitness(t, path, "w.test/witness", key, tl.verifier)
	srv2 := httptest.NewServer(w2.Routes())
	defer srv2.Close()
	resp, err := http.Post(srv2.URL+"/add-checkpoint", "text/plain", strings.NewReader("old 0\n\n"+string(p.Signed)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || string(body) != "5\n" || resp.Header.Get("Content-Type") != ContentTypeSize {
		t.Errorf("after restart, old 0 = %d %q %s; want 409 \"5\\n\" %s", resp.StatusCode, body, resp.Header.Get("Content-Type"), ContentTypeSize)
	}
}

func TestProtocolErrors(t *testing.T) {
	t.Parallel()
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	tl := newLog(t, logKey)
	w := newWitness(t, "w.test/witness", tl.verifier)
	tl.grow(t, 2)
	p := tl.log.Latest()
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	other := newLog(t, otherKey) // same origin, a key the witness does not trust
	other.grow(t, 2)
	_, strangerKey, _ := ed25519.GenerateKey(rand.Reader)
	strangerSigner, _, _ := didregistry.NewNoteSigner("stranger.test/log", strangerKey)
	strangerNote, _ := note.Sign(&note.Note{Text: "stranger.test/log\n1\n" + strings.Repeat("A", 43) + "=\n"}, strangerSigner)
	for _, tc := range []struct {
		name, body string
		status     int
	}{
		{"unknown origin", "old 0\n\n" + string(strangerNote), 404},
		{"untrusted signature", "old 0\n\n" + string(other.log.Latest().Signed), 403},
		{"old larger than size", "old 9\n\n" + string(p.Signed), 400},
		{"no old line", string(p.Signed), 400},
		{"old with leading zero", "old 01\n\n" + string(p.Signed), 400},
		{"bad proof line", "old 1\nnot-base64\n\n" + string(p.Signed), 400},
		{"proof from zero", "old 0\n" + strings.Repeat("A", 43) + "=\n\n" + string(p.Signed), 400},
		{"wrong old size", "old 1\n\n" + string(p.Signed), 409},
	} {
		resp, err := http.Post(w.srv.URL+"/add-checkpoint", "text/plain", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
	}
	// A bad consistency proof: 422.
	first := p
	if _, err := collector(tl, 1, w).Cosign(t.Context(), first.Signed, first.Size); err != nil {
		t.Fatal(err)
	}
	tl.grow(t, 3)
	p = tl.log.Latest()
	proof, _ := tl.log.ProveConsistency(t.Context(), first.Size, p.Size)
	proof[0][0] ^= 1
	body := "old 2\n"
	for _, h := range proof {
		body += encodeHash(h) + "\n"
	}
	resp, _ := http.Post(w.srv.URL+"/add-checkpoint", "text/plain", strings.NewReader(body+"\n"+string(p.Signed)))
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad proof: status %d, want 422", resp.StatusCode)
	}
}

func encodeHash(h tlog.Hash) string {
	b, _ := h.MarshalJSON()
	return strings.Trim(string(b), `"`)
}

func FuzzParseRequest(f *testing.F) {
	f.Add([]byte("old 0\n\nlog\n1\nAAAA\n"))
	f.Add([]byte("old 5\n" + strings.Repeat("A", 43) + "=\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRequest(b)
		if err == nil && (r.old < 0 || len(r.proof) > MaxProofLines) {
			t.Fatalf("parseRequest accepted %q as %+v", b, r)
		}
	})
}
