package store

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/jcs"
	"github.com/tongid/tong/internal/pgtest"
	istore "github.com/tongid/tong/internal/store"
)

const testOrigin = "tong.test/registry"

type testLog struct {
	*Log
	t        *testing.T
	db       *istore.DB
	path     string
	vkey     string
	verifier note.Verifier
	now      time.Time
	mu       sync.Mutex
}

// clock returns strictly increasing times, one second apart.
func (tl *testLog) clock() time.Time {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.now = tl.now.Add(time.Second)
	return tl.now
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func openTestLog(t *testing.T, x pgtest.Target, authority string, logKey ed25519.PrivateKey) *testLog {
	t.Helper()
	db, err := x.OpenErr(t.Context(), istore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := x.Addr
	signer, vkey, err := didregistry.NewNoteSigner(testOrigin, logKey)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := note.NewVerifier(vkey)
	tl := &testLog{t: t, db: db, path: path, vkey: vkey, verifier: v, now: time.Now().Add(-time.Hour)}
	l, err := Open(t.Context(), Config{DB: db, Origin: testOrigin, Signer: signer,
		Rules: didregistry.Rules{TrustAuthority: authority}})
	if err != nil {
		t.Fatal(err)
	}
	tl.Log = l
	t.Cleanup(func() { l.Close(); db.Close() })
	return tl
}

// doc makes a DID document for the placeholder DID with one assertion key.
func doc(t testing.TB, id string, key crypto.PublicKey, issuerURL string) *did.Document {
	t.Helper()
	mk, err := did.EncodeMultikey(key)
	if err != nil {
		t.Fatal(err)
	}
	d := docFor(id, mk)
	if issuerURL != "" {
		d.Service = []did.Service{{ID: id + "#oid4vci", Type: []string{didregistry.ServiceTypeCredentialIssuer}, ServiceEndpoint: issuerURL}}
	}
	return d
}

// docFor makes a DID document with one key for assertion and authentication.
func docFor(id, multikey string) *did.Document {
	return &did.Document{
		Context:             []any{did.ContextV1},
		ID:                  id,
		VerificationMethods: []did.VerificationMethod{{ID: id + "#key-1", Type: "Multikey", Controller: id, PublicKeyMultibase: multikey}},
		AssertionMethod:     []did.VerificationRef{{Ref: "#key-1"}},
		Authentication:      []did.VerificationRef{{Ref: "#key-1"}},
	}
}

func (tl *testLog) append(op *didregistry.Operation) (Receipt, error) {
	leaf, err := op.Canonical()
	if err != nil {
		tl.t.Fatal(err)
	}
	return tl.Append(tl.t.Context(), leaf)
}

// create registers a new DID controlled by key, optionally committing to
// next keys.
func (tl *testLog) create(key *ecdsa.PrivateKey, next ...crypto.PublicKey) (*didregistry.Operation, Receipt) {
	tl.t.Helper()
	var hashes []string
	if len(next) > 0 {
		hashes, _ = didregistry.KeyHashesOf(next...)
	}
	op, err := didregistry.NewGenesis(key, doc(tl.t, didregistry.PlaceholderDID, &key.PublicKey, ""), []crypto.PublicKey{&key.PublicKey}, hashes, tl.clock())
	if err != nil {
		tl.t.Fatal(err)
	}
	r, err := tl.append(op)
	if err != nil {
		tl.t.Fatalf("create: %v", err)
	}
	return op, r
}

func (tl *testLog) head(id string) *didregistry.State {
	s, err := tl.State(tl.t.Context(), id)
	if err != nil {
		tl.t.Fatal(err)
	}
	return s
}

func TestCreateUpdateResolve(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		_, logKey, _ := ed25519.GenerateKey(rand.Reader)
		tl := openTestLog(t, x, "", logKey)
		key := newKey(t)
		op, r := tl.create(key)
		if r.Index != 0 || r.TreeSize != 1 {
			t.Errorf("first receipt = %+v", r)
		}
		// Update the document with a second key.
		k2 := newKey(t)
		up := didregistry.Next(tl.head(op.DID), didregistry.OpUpdate, tl.clock())
		raw, _ := json.Marshal(doc(t, op.DID, &k2.PublicKey, "https://tong.test/issuers/psb"))
		up.Document = raw
		if err := up.Sign(key); err != nil {
			t.Fatal(err)
		}
		if _, err := tl.append(up); err != nil {
			t.Fatalf("update: %v", err)
		}
		chain, err := tl.Chain(t.Context(), op.DID)
		if err != nil || len(chain) != 2 {
			t.Fatalf("Chain = %d entries, %v", len(chain), err)
		}
		states, err := didregistry.Replay(didregistry.Rules{}, chain, time.Now())
		if err != nil {
			t.Fatalf("Replay = %v", err)
		}
		res, _, err := didregistry.ResolveStates(op.DID, states, did.ResolveOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if k, err := res.Document.KeyFor(did.AssertionMethod, op.DID+"#key-1"); err != nil || !k.(*ecdsa.PublicKey).Equal(&k2.PublicKey) {
			t.Errorf("resolved key = %v, %v; want the updated key", k, err)
		}
		if res.DocumentMetadata.VersionID != states[1].VersionID() || res.DocumentMetadata.Updated.IsZero() {
			t.Errorf("metadata = %+v", res.DocumentMetadata)
		}
		// versionId selects the first version, whose nextVersionId is the second.
		first, _, _ := didregistry.ResolveStates(op.DID, states, did.ResolveOptions{VersionID: states[0].VersionID()})
		if first.DocumentMetadata.NextVersionID != states[1].VersionID() {
			t.Errorf("first version's nextVersionId = %q", first.DocumentMetadata.NextVersionID)
		}
		// A document alone binds no issuer URL: only the trust authority does.
		if u, err := tl.DIDForIssuerURL(t.Context(), "https://tong.test/issuers/psb"); didregistry.CodeOf(err) != didregistry.CodeNotFound {
			t.Errorf("DIDForIssuerURL = %q, %v; want %s", u, err, didregistry.CodeNotFound)
		}
	})
}

func TestAdmissionRules(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		_, logKey, _ := ed25519.GenerateKey(rand.Reader)
		authKey := newKey(t)
		// The authority's DID is fixed by its genesis, before the log opens.
		authOp, _ := didregistry.NewGenesis(authKey, doc(t, didregistry.PlaceholderDID, &authKey.PublicKey, ""), []crypto.PublicKey{&authKey.PublicKey}, nil, time.Now().Add(-2*time.Hour))
		tl := openTestLog(t, x, authOp.DID, logKey)
		if _, err := tl.append(authOp); err != nil {
			t.Fatal(err)
		}
		key, stranger, next := newKey(t), newKey(t), newKey(t)
		op, _ := tl.create(key, &next.PublicKey)
		plain, _ := tl.create(stranger)

		signed := func(o *didregistry.Operation, k crypto.Signer) *didregistry.Operation {
			if err := o.Sign(k); err != nil {
				t.Fatal(err)
			}
			return o
		}
		mkNext, _ := didregistry.MultikeysOf(&next.PublicKey)
		mkStranger, _ := didregistry.MultikeysOf(&stranger.PublicKey)
		accredit := func(subject string) *didregistry.Operation {
			o := didregistry.Next(tl.head(authOp.DID), didregistry.OpAccredit, tl.clock())
			o.Accreditation = &didregistry.Accreditation{Subject: subject, Role: didregistry.RoleIssuer, Scope: []string{"urn:tong:vct:citizen-identity:1"}, ValidFrom: didregistry.FormatTime(time.Now().Add(-time.Hour))}
			return o
		}
		badSCID, _ := didregistry.NewGenesis(stranger, doc(t, didregistry.PlaceholderDID, &stranger.PublicKey, ""), []crypto.PublicKey{&stranger.PublicKey}, nil, tl.clock())
		last := "x"
		if strings.HasSuffix(badSCID.DID, last) {
			last = "y"
		}
		badSCID.DID = badSCID.DID[:len(badSCID.DID)-1] + last
		raw, _ := json.Marshal(doc(t, badSCID.DID, &stranger.PublicKey, ""))
		badSCID.Document = raw
		signed(badSCID, stranger)

		for _, tc := range []struct {
			name string
			op   *didregistry.Operation
			want didregistry.Code
		}{
			{"rotation to a key not committed to", func() *didregistry.Operation {
				o := didregistry.Next(tl.head(op.DID), didregistry.OpUpdate, tl.clock())
				o.UpdateKeys = mkStranger
				return signed(o, stranger)
			}(), didregistry.CodePreRotation},
			{"rotation signed by the old key", func() *didregistry.Operation {
				o := didregistry.Next(tl.head(op.DID), didregistry.OpUpdate, tl.clock())
				o.UpdateKeys = mkNext
				return signed(o, key)
			}(), didregistry.CodePreRotation},
			{"update signed by a stranger", func() *didregistry.Operation {
				o := didregistry.Next(tl.head(plain.DID), didregistry.OpUpdate, tl.clock())
				o.UpdateKeys = mkNext
				return signed(o, next)
			}(), didregistry.CodeUnauthorized},
			{"time not after the head", func() *didregistry.Operation {
				o := didregistry.Next(tl.head(plain.DID), didregistry.OpUpdate, tl.head(plain.DID).VersionTime)
				o.UpdateKeys = mkNext
				return signed(o, stranger)
			}(), didregistry.CodeTime},
			{"time in the future", func() *didregistry.Operation {
				o := didregistry.Next(tl.head(plain.DID), didregistry.OpUpdate, time.Now().Add(time.Hour))
				o.UpdateKeys = mkNext
				return signed(o, stranger)
			}(), didregistry.CodeTime},
			{"stale head", func() *didregistry.Operation {
				o := didregistry.Next(tl.head(plain.DID), didregistry.OpUpdate, tl.clock())
				o.Seq, o.Prev = 1, "zStale"
				o.UpdateKeys = mkNext
				return signed(o, stranger)
			}(), didregistry.CodeConflict},
			{"SCID does not match the genesis", badSCID, didregistry.CodeInvalidSCID},
			{"accreditation by a non-authority", func() *didregistry.Operation {
				o := didregistry.Next(tl.head(plain.DID), didregistry.OpAccredit, tl.clock())
				o.Accreditation = &didregistry.Accreditation{Subject: op.DID, Role: didregistry.RoleIssuer, Scope: []string{"x"}, ValidFrom: didregistry.FormatTime(time.Now())}
				return signed(o, stranger)
			}(), didregistry.CodeNotAuthority},
			{"update of an unknown DID", func() *didregistry.Operation {
				o := didregistry.Next(&didregistry.State{DID: "did:tong:zUnknown", Seq: 1, EntryHash: "zX"}, didregistry.OpUpdate, tl.clock())
				return signed(o, stranger)
			}(), didregistry.CodeNotFound},
			{"second genesis of a DID", op, didregistry.CodeExists},
		} {
			if _, err := tl.append(tc.op); didregistry.CodeOf(err) != tc.want {
				t.Errorf("%s: Append = %v, want %s", tc.name, err, tc.want)
			}
		}

		// The committed rotation works: revealed key signs, new commitments.
		o := didregistry.Next(tl.head(op.DID), didregistry.OpUpdate, tl.clock())
		o.UpdateKeys = mkNext
		o.NextKeyHashes = nil
		if _, err := tl.append(signed(o, next)); err != nil {
			t.Errorf("rotation under pre-rotation: %v", err)
		}
		// The authority accredits; the accreditation is derived and revocable.
		acc := signed(accredit(op.DID), authKey)
		if _, err := tl.append(acc); err != nil {
			t.Fatalf("accredit: %v", err)
		}
		if ok, err := tl.Accredited(t.Context(), op.DID, didregistry.RoleIssuer, "urn:tong:vct:citizen-identity:1", time.Now()); !ok || err != nil {
			t.Errorf("Accredited = %v, %v; want true", ok, err)
		}
		rev := didregistry.Next(tl.head(authOp.DID), didregistry.OpRevoke, tl.clock())
		rev.Revokes = tl.head(authOp.DID).VersionID()
		if _, err := tl.append(signed(rev, authKey)); err != nil {
			t.Fatalf("revoke: %v", err)
		}
		if ok, _ := tl.Accredited(t.Context(), op.DID, didregistry.RoleIssuer, "urn:tong:vct:citizen-identity:1", time.Now().Add(time.Hour)); ok {
			t.Errorf("Accredited after revocation = true")
		}
		// Deactivation: the DID accepts nothing more and resolves deactivated.
		d := didregistry.Next(tl.head(op.DID), didregistry.OpDeactivate, tl.clock())
		if _, err := tl.append(signed(d, next)); err != nil {
			t.Fatalf("deactivate: %v", err)
		}
		after := didregistry.Next(tl.head(op.DID), didregistry.OpUpdate, tl.clock())
		if _, err := tl.append(signed(after, next)); didregistry.CodeOf(err) != didregistry.CodeDeactivated {
			t.Errorf("update after deactivation = %v, want %s", err, didregistry.CodeDeactivated)
		}
		chain, _ := tl.Chain(t.Context(), op.DID)
		states, err := didregistry.Replay(didregistry.Rules{}, chain, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		res, _, err := didregistry.ResolveStates(op.DID, states, did.ResolveOptions{})
		if did.CodeOf(err) != did.CodeDeactivated || res == nil || !res.DocumentMetadata.Deactivated {
			t.Errorf("resolve deactivated = %v, %+v", err, res)
		}
	})
}

// Of two updates from the same head, exactly one wins.
func TestConcurrentUpdatesOneWins(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		_, logKey, _ := ed25519.GenerateKey(rand.Reader)
		tl := openTestLog(t, x, "", logKey)
		key := newKey(t)
		op, _ := tl.create(key)
		head := tl.head(op.DID)
		const writers = 8
		var wg sync.WaitGroup
		errs := make([]error, writers)
		for i := range writers {
			o := didregistry.Next(head, didregistry.OpUpdate, tl.clock())
			raw, _ := json.Marshal(doc(t, op.DID, &newKey(t).PublicKey, ""))
			o.Document = raw
			o.Sign(key)
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = tl.append(o)
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, didregistry.ErrConflict):
				t.Errorf("loser error = %v, want ErrConflict", err)
			}
		}
		if wins != 1 {
			t.Errorf("%d of %d concurrent updates won, want exactly 1", wins, writers)
		}
	})
}

func TestAppendOnly(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		_, logKey, _ := ed25519.GenerateKey(rand.Reader)
		tl := openTestLog(t, x, "", logKey)
		tl.create(newKey(t))
		zero := `x'00'`
		stmts := []string{}
		if x.Engine == istore.PostgreSQL {
			zero = `'\x00'::bytea`
			stmts = []string{`TRUNCATE registry_entries, registry_hashes, registry_checkpoints`}
		}
		for _, stmt := range append(stmts,
			`UPDATE registry_entries SET did = 'x'`,
			`DELETE FROM registry_entries`,
			`UPDATE registry_hashes SET hash = `+zero,
			`DELETE FROM registry_hashes`,
			`DELETE FROM registry_checkpoints`,
			`UPDATE registry_checkpoints SET signed = ''`,
		) {
			if _, err := tl.db.Writer().ExecContext(t.Context(), stmt); err == nil {
				t.Errorf("%s succeeded on an append-only table", stmt)
			}
		}
	})
}

// Proofs from our log verify with an independent implementation
// (transparency-dev/merkle), and checkpoints verify with the log key.
func TestProofsIndependently(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		_, logKey, _ := ed25519.GenerateKey(rand.Reader)
		tl := openTestLog(t, x, "", logKey)
		var leaves [][]byte
		for range 13 {
			op, r := tl.create(newKey(t))
			leaf, _ := op.Canonical()
			leaves = append(leaves, leaf)
			if r.Index != int64(len(leaves)-1) {
				t.Fatalf("index %d, want %d", r.Index, len(leaves)-1)
			}
		}
		latest := tl.Latest()
		c, err := didregistry.OpenCheckpoint(latest.Signed, testOrigin, tl.verifier)
		if err != nil || c.Size != 13 {
			t.Fatalf("checkpoint = %+v, %v", c, err)
		}
		h := rfc6962.DefaultHasher
		for i, leaf := range leaves {
			p, err := tl.ProveInclusion(t.Context(), int64(i), c.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(h, uint64(i), uint64(c.Size), h.HashLeaf(leaf), hashes(p), c.Hash[:]); err != nil {
				t.Errorf("inclusion of %d: %v", i, err)
			}
		}
		for old := int64(1); old < c.Size; old++ {
			p, err := tl.ProveConsistency(t.Context(), old, c.Size)
			if err != nil {
				t.Fatal(err)
			}
			oldCkpt, err := tl.Checkpoint(t.Context(), old)
			if err != nil {
				t.Fatal(err)
			}
			oc, _ := didregistry.OpenCheckpoint(oldCkpt, testOrigin, tl.verifier)
			if err := proof.VerifyConsistency(h, uint64(old), uint64(c.Size), hashes(p), oc.Hash[:], c.Hash[:]); err != nil {
				t.Errorf("consistency %d→%d: %v", old, c.Size, err)
			}
		}
	})
}

func hashes[T ~[]tlog.Hash](p T) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}

func noteVerifier(vkey string) (note.Verifier, error) { return note.NewVerifier(vkey) }

// signedGenesis is a new DID's signed create operation and its leaf.
func signedGenesis(t *testing.T) (*didregistry.Operation, []byte) {
	t.Helper()
	k := newKey(t)
	op, err := didregistry.NewGenesis(k, docFor(didregistry.PlaceholderDID, mustMultikey(&k.PublicKey)), []crypto.PublicKey{&k.PublicKey}, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := op.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	return op, leaf
}

// An operation has exactly one leaf: the same signature over a leaf with
// a member the signer did not write (even an empty one the struct would
// drop) does not verify, though the leaf is still canonical JCS.
func TestOneLeafPerOperation(t *testing.T) {
	_, leaf := signedGenesis(t)
	parsed, err := didregistry.ParseOperation(leaf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := didregistry.Precheck(parsed); err != nil {
		t.Fatalf("the genuine leaf: %v", err)
	}
	// "nextKeyHashes" sorts between "document" and "proof".
	forged := strings.Replace(string(leaf), `,"proof":`, `,"nextKeyHashes":[],"proof":`, 1)
	if forged == string(leaf) {
		t.Fatal("could not insert the member")
	}
	fop, err := didregistry.ParseOperation([]byte(forged))
	if err != nil {
		t.Fatalf("the forged leaf is canonical, ParseOperation = %v", err)
	}
	if _, err := didregistry.Precheck(fop); didregistry.CodeOf(err) != didregistry.CodeInvalidSignature {
		t.Errorf("Precheck(forged) = %v, want %s", err, didregistry.CodeInvalidSignature)
	}
}

// ParseOperation refuses members it does not know, nulls and wrong types
// with CodeInvalidOperation, and non-canonical leaves (repeated members
// included) with CodeNotCanonical.
func TestParseOperationRejects(t *testing.T) {
	op, leaf := signedGenesis(t)
	good, err := didregistry.ParseOperation(leaf)
	if err != nil {
		t.Fatal(err)
	}
	if good.DID != op.DID || good.Seq != 1 || good.Type != didregistry.OpCreate || good.Proof == nil || good.Proof.ProofValue != op.Proof.ProofValue ||
		len(good.UpdateKeys) != 1 || !bytes.Equal(good.Document, mustCanonicalDoc(t, op.Document)) {
		t.Fatalf("ParseOperation(leaf) = %+v, want %+v", good, op)
	}
	s := string(leaf)
	for name, bad := range map[string]string{
		"unknown member":         strings.Replace(s, `{"did":`, `{"colour":"red","did":`, 1),
		"null prev":              strings.Replace(s, `,"proof":`, `,"prev":null,"proof":`, 1),
		"seq not an integer":     strings.Replace(s, `"seq":1`, `"seq":1.5`, 1),
		"seq a string":           strings.Replace(s, `"seq":1`, `"seq":"1"`, 1),
		"document not an object": regexpDocument.ReplaceAllString(s, `"document":"x","$1"`),
		"updateKeys not strings": strings.Replace(s, `"updateKeys":["`, `"updateKeys":[1,"`, 1),
		"unknown proof member":   strings.Replace(s, `"proof":{`, `"proof":{"nonce":"x",`, 1),
		"not canonical":          strings.Replace(s, `{"did":`, `{ "did":`, 1),
		"duplicate member":       strings.Replace(s, `{"did":`, `{"did":"x","did":`, 1),
		"not an object":          `[1]`,
	} {
		if bad == s {
			t.Fatalf("%s: the edit did not apply", name)
		}
		want := didregistry.CodeInvalidOperation
		if name == "not canonical" || name == "duplicate member" {
			want = didregistry.CodeNotCanonical
		}
		if _, err := didregistry.ParseOperation([]byte(bad)); didregistry.CodeOf(err) != want {
			t.Errorf("%s: ParseOperation = %v, want %s", name, err, want)
		}
	}
}

var regexpDocument = regexp.MustCompile(`"document":\{.*?\},"(nextKeyHashes|proof)"`)

func mustCanonicalDoc(t *testing.T, doc []byte) []byte {
	t.Helper()
	out, err := jcs.Transform(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
