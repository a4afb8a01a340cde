package didregistry_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tongid/tong/didregistry"
)

const origin = "tong.example/registry"

func TestCheckpointRoundTrip(t *testing.T) {
	t.Parallel()
	c := didregistry.Checkpoint{Origin: origin, Size: 42, Hash: tlog.RecordHash([]byte("x"))}
	body := c.Marshal()
	if n := strings.Count(string(body), "\n"); n != 3 || !strings.HasPrefix(string(body), origin+"\n42\n") {
		t.Fatalf("Marshal() = %q, want three lines: origin, size, hash", body)
	}
	got, err := didregistry.ParseCheckpoint(body)
	if err != nil || got != c {
		t.Fatalf("ParseCheckpoint(Marshal()) = %+v, %v, want %+v", got, err, c)
	}
}

func TestParseCheckpointStrict(t *testing.T) {
	t.Parallel()
	hash := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	for _, tc := range []struct{ name, body string }{
		{"no final newline", origin + "\n1\n" + hash},
		{"an extension line", origin + "\n1\n" + hash + "\nextra\n"},
		{"no origin", "\n1\n" + hash + "\n"},
		{"negative size", origin + "\n-1\n" + hash + "\n"},
		{"size with a leading zero", origin + "\n01\n" + hash + "\n"},
		{"size with a plus", origin + "\n+1\n" + hash + "\n"},
		{"hash not base64", origin + "\n1\n!!!\n"},
		{"hash of 31 bytes", origin + "\n1\n" + "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuA==" + "\n"},
		{"too long", strings.Repeat("o", 2000) + "\n1\n" + hash + "\n"},
	} {
		if _, err := didregistry.ParseCheckpoint([]byte(tc.body)); err == nil {
			t.Errorf("ParseCheckpoint(%s) = nil error, want a refusal", tc.name)
		}
	}
	if _, err := didregistry.ParseCheckpoint([]byte(origin + "\n0\n" + hash + "\n")); err != nil {
		t.Errorf("ParseCheckpoint(empty tree) = %v", err)
	}
}

func TestNoteSigner(t *testing.T) {
	t.Parallel()
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, _, err := didregistry.NewNoteSigner(origin, p256); err == nil {
		t.Error("NewNoteSigner(P-256 key) = nil error, want Ed25519 only")
	}
	for _, name := range []string{"", "a b", "a+b", "a\nb"} {
		if _, _, err := didregistry.NewNoteSigner(name, key(1)); err == nil {
			t.Errorf("NewNoteSigner(%q) = nil error", name)
		}
	}
	s, vkey, err := didregistry.NewNoteSigner(origin, key(1))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(vkey, origin+"+") || s.Name() != origin {
		t.Errorf("verifier key %q, name %q", vkey, s.Name())
	}
	v, err := note.NewVerifier(vkey)
	if err != nil || v.KeyHash() != s.KeyHash() {
		t.Fatalf("note.NewVerifier(%q) = %v, key hash %x vs %x", vkey, err, v.KeyHash(), s.KeyHash())
	}
	c := didregistry.Checkpoint{Origin: origin, Size: 1, Hash: tlog.RecordHash([]byte("x"))}
	signed, err := note.Sign(&note.Note{Text: string(c.Marshal())}, s)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := didregistry.OpenCheckpoint(signed, origin, v); err != nil || got != c {
		t.Errorf("OpenCheckpoint = %+v, %v", got, err)
	}
	if _, err := didregistry.OpenCheckpoint(signed, "other.example/log", v); err == nil {
		t.Error("OpenCheckpoint(other origin) = nil error")
	}
	_, otherKey, _ := didregistry.NewNoteSigner(origin, key(2))
	ov, _ := note.NewVerifier(otherKey)
	if _, err := didregistry.OpenCheckpoint(signed, origin, ov); err == nil {
		t.Error("OpenCheckpoint(another log's key) = nil error")
	}
}

// fakeLog is an in-memory Merkle log of n records, to sign checkpoints
// and prove consistency between its sizes.
type fakeLog struct {
	hashes []tlog.Hash
	n      int64
}

func newFakeLog(t *testing.T, records ...string) *fakeLog {
	t.Helper()
	l := &fakeLog{}
	for _, r := range records {
		hs, err := tlog.StoredHashes(l.n, []byte(r), l)
		if err != nil {
			t.Fatal(err)
		}
		l.hashes = append(l.hashes, hs...)
		l.n++
	}
	return l
}

func (l *fakeLog) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = l.hashes[x]
	}
	return out, nil
}

func (l *fakeLog) root(t *testing.T, n int64) tlog.Hash {
	t.Helper()
	h, err := tlog.TreeHash(n, l)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (l *fakeLog) proofs(old, new int64) (tlog.TreeProof, error) { return tlog.ProveTree(new, old, l) }

func signCheckpoint(t *testing.T, s note.Signer, size int64, h tlog.Hash) []byte {
	t.Helper()
	signed, err := note.Sign(&note.Note{Text: string(didregistry.Checkpoint{Origin: origin, Size: size, Hash: h}.Marshal())}, s)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func TestTracker(t *testing.T) {
	t.Parallel()
	s, vkey, _ := didregistry.NewNoteSigner(origin, key(1))
	v, _ := note.NewVerifier(vkey)
	honest := newFakeLog(t, "a", "b", "c", "d", "e")
	forked := newFakeLog(t, "a", "b", "X", "d", "e")

	tr := didregistry.NewTracker(origin, v, honest.proofs)
	if _, signed := tr.Latest(); signed != nil {
		t.Fatal("a new tracker has seen a checkpoint")
	}
	at := func(l *fakeLog, n int64) []byte { return signCheckpoint(t, s, n, l.root(t, n)) }
	for _, step := range []struct {
		name     string
		signed   []byte
		fork     bool
		wantSize int64 // the tracker's newest size afterwards
	}{
		{"first checkpoint", at(honest, 2), false, 2},
		{"a larger, consistent tree", at(honest, 4), false, 4},
		{"the same checkpoint again", at(honest, 4), false, 4},
		{"an older prefix", at(honest, 3), false, 4},
		{"the same size, another root", at(forked, 4), true, 4},
		{"an older tree that is not a prefix", at(forked, 3), true, 4},
		{"the newest size", at(honest, 5), false, 5},
	} {
		_, err := tr.Update(step.signed)
		var fe *didregistry.ForkError
		if got := errors.As(err, &fe); got != step.fork || (!step.fork && err != nil) {
			t.Fatalf("Update(%s) = %v, want fork %v", step.name, err, step.fork)
		}
		if step.fork && (fe.Old == nil || fe.New == nil) {
			t.Errorf("ForkError for %s does not hold both checkpoints", step.name)
		}
		if c, _ := tr.Latest(); c.Size != step.wantSize {
			t.Errorf("after %s, Latest().Size = %d, want %d", step.name, c.Size, step.wantSize)
		}
	}

	// A larger tree from a log whose proofs do not hold is a fork too.
	tr2 := didregistry.NewTracker(origin, v, forked.proofs)
	if _, err := tr2.Update(at(honest, 3)); err != nil {
		t.Fatal(err)
	}
	var fe *didregistry.ForkError
	if _, err := tr2.Update(at(forked, 5)); !errors.As(err, &fe) {
		t.Errorf("Update(larger tree of another history) = %v, want a ForkError", err)
	}
	// A checkpoint that does not verify changes nothing.
	other, _, _ := didregistry.NewNoteSigner(origin, key(2))
	if _, err := tr.Update(signCheckpoint(t, other, 5, honest.root(t, 5))); err == nil {
		t.Error("Update(checkpoint signed by another key) = nil error")
	}
}
