package didregistry_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
)

// history is a DID's chain: created at t0, updated at t0+1m, rotated to
// a new key at t0+2m, deactivated at t0+3m.
func history(t *testing.T) (entries []didregistry.Entry, ops []*didregistry.Operation) {
	t.Helper()
	k, k2 := key(1), key(2)
	var head *didregistry.State
	add := func(op *didregistry.Operation) {
		b, parsed := leaf(t, op)
		s, err := didregistry.Rules{}.Validate(head, parsed, b, t0.Add(time.Hour))
		if err != nil {
			t.Fatalf("history: %s #%d: %v", op.Type, op.Seq, err)
		}
		head = s
		entries = append(entries, didregistry.Entry{Index: int64(10 + len(entries)), Leaf: b})
		ops = append(ops, op)
	}
	add(genesis(t, k, nil, ""))
	up := didregistry.Next(head, didregistry.OpUpdate, t0.Add(time.Minute))
	up.Document = rawDoc(t, document(t, head.DID, k2, "https://psb.example"))
	add(sign(t, up, k))
	rot := didregistry.Next(head, didregistry.OpUpdate, t0.Add(2*time.Minute))
	rot.UpdateKeys, _ = didregistry.MultikeysOf(k2.Public())
	add(sign(t, rot, k))
	add(sign(t, didregistry.Next(head, didregistry.OpDeactivate, t0.Add(3*time.Minute)), k2))
	return entries, ops
}

func TestReplay(t *testing.T) {
	t.Parallel()
	chain, ops := history(t)
	for _, replay := range []struct {
		name string
		run  func([]didregistry.Entry) ([]*didregistry.State, error)
	}{
		{"Replay", func(c []didregistry.Entry) ([]*didregistry.State, error) {
			return didregistry.Replay(didregistry.Rules{}, c, t0.Add(time.Hour))
		}},
		{"ReplayTrusted", didregistry.ReplayTrusted},
	} {
		t.Run(replay.name, func(t *testing.T) {
			t.Parallel()
			states, err := replay.run(chain)
			if err != nil {
				t.Fatal(err)
			}
			if len(states) != 4 {
				t.Fatalf("%s gave %d states, want 4", replay.name, len(states))
			}
			for i, s := range states {
				if s.Seq != int64(i+1) || s.LogIndex != int64(10+i) || s.EntryHash != didregistry.EntryHash(chain[i].Leaf) || s.DID != ops[0].DID {
					t.Errorf("state %d = seq %d, log index %d, DID %s", i, s.Seq, s.LogIndex, s.DID)
				}
			}
			if !states[3].Deactivated || states[2].Deactivated {
				t.Errorf("Deactivated = %v, %v, want false, true", states[2].Deactivated, states[3].Deactivated)
			}
			if _, err := replay.run(nil); !errors.Is(err, didregistry.ErrNotFound) {
				t.Errorf("%s(empty chain) = %v, want ErrNotFound", replay.name, err)
			}
			// Dropping an operation breaks the chain.
			gap := []didregistry.Entry{chain[0], chain[2]}
			if _, err := replay.run(gap); !errors.Is(err, didregistry.ErrConflict) {
				t.Errorf("%s(chain with a gap) = %v, want ErrConflict", replay.name, err)
			}
		})
	}
}

// TestReplayChecksSignatures: Replay, which clients run, refuses a chain
// whose operation was signed by a key the DID never had; ReplayTrusted
// (the registry's own, over operations it checked on append) does not
// check signatures.
func TestReplayChecksSignatures(t *testing.T) {
	t.Parallel()
	chain, ops := history(t)
	head, err := didregistry.ReplayTrusted(chain[:1])
	if err != nil {
		t.Fatal(err)
	}
	forged := didregistry.Next(head[0], didregistry.OpUpdate, t0.Add(time.Minute))
	forged.Document = ops[1].Document
	sign(t, forged, key(7))
	b, _ := leaf(t, forged)
	bad := []didregistry.Entry{chain[0], {Index: 11, Leaf: b}}
	if _, err := didregistry.Replay(didregistry.Rules{}, bad, t0.Add(time.Hour)); didregistry.CodeOf(err) != didregistry.CodeUnauthorized {
		t.Errorf("Replay(forged update) = %v, want %s", err, didregistry.CodeUnauthorized)
	}
	if _, err := didregistry.Replay(didregistry.Rules{}, []didregistry.Entry{{Leaf: []byte("{}")}}, t0); didregistry.CodeOf(err) == "" {
		t.Errorf("Replay(garbage) = %v, want a coded refusal", err)
	}
}

func TestResolveStates(t *testing.T) {
	t.Parallel()
	chain, ops := history(t)
	states, err := didregistry.ReplayTrusted(chain)
	if err != nil {
		t.Fatal(err)
	}
	id := ops[0].DID
	for _, tc := range []struct {
		name     string
		opts     did.ResolveOptions
		wantSeq  int64
		wantCode did.Code
	}{
		{name: "latest is deactivated", wantSeq: 4, wantCode: did.CodeDeactivated},
		{name: "first version by id", opts: did.ResolveOptions{VersionID: states[0].VersionID()}, wantSeq: 1},
		{name: "second version by id", opts: did.ResolveOptions{VersionID: states[1].VersionID()}, wantSeq: 2},
		{name: "unknown version id", opts: did.ResolveOptions{VersionID: "2-zNope"}, wantCode: did.CodeNotFound},
		{name: "at creation", opts: did.ResolveOptions{VersionTime: t0}, wantSeq: 1},
		{name: "between updates", opts: did.ResolveOptions{VersionTime: t0.Add(90 * time.Second)}, wantSeq: 2},
		{name: "at the rotation", opts: did.ResolveOptions{VersionTime: t0.Add(2 * time.Minute)}, wantSeq: 3},
		{name: "before creation", opts: did.ResolveOptions{VersionTime: t0.Add(-time.Second)}, wantCode: did.CodeNotFound},
		{name: "long after", opts: did.ResolveOptions{VersionTime: t0.Add(24 * time.Hour)}, wantSeq: 4, wantCode: did.CodeDeactivated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, s, err := didregistry.ResolveStates(id, states, tc.opts)
			if got := did.CodeOf(err); got != tc.wantCode {
				t.Fatalf("ResolveStates(%+v) = %v, want code %q", tc.opts, err, tc.wantCode)
			}
			if tc.wantCode == did.CodeNotFound {
				return
			}
			if s.Seq != tc.wantSeq || res.DocumentMetadata.VersionID != states[tc.wantSeq-1].VersionID() {
				t.Fatalf("ResolveStates(%+v) picked seq %d (%s), want %d", tc.opts, s.Seq, res.DocumentMetadata.VersionID, tc.wantSeq)
			}
			meta := res.DocumentMetadata
			if !meta.Created.Equal(t0) {
				t.Errorf("created = %v, want %v", meta.Created, t0)
			}
			if (tc.wantSeq > 1) != !meta.Updated.IsZero() {
				t.Errorf("updated = %v for seq %d", meta.Updated, tc.wantSeq)
			}
			if tc.wantSeq < 4 && meta.NextVersionID != states[tc.wantSeq].VersionID() {
				t.Errorf("nextVersionId = %q, want %q", meta.NextVersionID, states[tc.wantSeq].VersionID())
			}
			if tc.wantSeq == 4 && (meta.NextVersionID != "" || !meta.Deactivated || res.Document != nil) {
				t.Errorf("deactivated result = %+v, document %v", meta, res.Document)
			}
			if tc.wantSeq < 4 && (res.Document == nil || res.Document.ID != id) {
				t.Errorf("document = %+v, want one with id %s", res.Document, id)
			}
		})
	}
	// The update gave the document an issuer URL; the rotation kept it.
	res, _, err := didregistry.ResolveStates(id, states, did.ResolveOptions{VersionID: states[2].VersionID()})
	if err != nil || len(res.Document.Service) != 1 {
		t.Errorf("version 3 = %+v, %v, want the updated document", res, err)
	}
	if _, err := didregistry.PickState(nil, did.ResolveOptions{}); did.CodeOf(err) != did.CodeNotFound {
		t.Errorf("PickState(no states) = %v, want %s", err, did.CodeNotFound)
	}
}
