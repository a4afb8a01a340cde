package store

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tongid/tong/didregistry"
)

func dropTriggers(t *testing.T, tl *testLog) {
	t.Helper()
	for _, tbl := range []string{"entries", "hashes", "checkpoints"} {
		for _, op := range []string{"update", "delete"} {
			if _, err := tl.db.Writer().ExecContext(t.Context(), fmt.Sprintf("DROP TRIGGER registry_%s_no_%s", tbl, op)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Changing one row directly in SQLite makes Verify fail and name the index.
func TestVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		stmt   string
		target int64
	}{
		{"leaf byte", `UPDATE registry_entries SET leaf = CAST(REPLACE(CAST(leaf AS TEXT), '"seq":1', '"seq":1 ') AS BLOB) WHERE idx = 5`, 5},
		{"stored hash", `UPDATE registry_hashes SET hash = zeroblob(32) WHERE id = (SELECT MAX(id) FROM registry_hashes) - 3`, -2},
		{"did column", `UPDATE registry_entries SET did = 'did:tong:zEvil' WHERE idx = 7`, 7},
		{"deleted entry", `DELETE FROM registry_entries WHERE idx = 3`, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, logKey, _ := ed25519.GenerateKey(rand.Reader)
			tl := openTestLog(t, filepath.Join(t.TempDir(), "r.db"), "", logKey)
			for range 10 {
				tl.create(newKey(t))
			}
			rep, err := Verify(t.Context(), tl.db, didregistry.Rules{}, testOrigin, tl.verifier, nil)
			if err != nil || rep.Entries != 10 || rep.Checkpoints != 10 {
				t.Fatalf("Verify before tampering = %+v, %v", rep, err)
			}
			dropTriggers(t, tl)
			if _, err := tl.db.Writer().ExecContext(t.Context(), tc.stmt); err != nil {
				t.Fatal(err)
			}
			_, err = Verify(t.Context(), tl.db, didregistry.Rules{}, testOrigin, tl.verifier, nil)
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify after tampering = %v, want a *VerifyError", err)
			}
			if tc.target >= 0 && ve.Index != tc.target {
				t.Errorf("Verify names index %d, want %d (%v)", ve.Index, tc.target, ve)
			}
		})
	}
}

func TestVerifyWrongLogKey(t *testing.T) {
	t.Parallel()
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	tl := openTestLog(t, filepath.Join(t.TempDir(), "r.db"), "", logKey)
	tl.create(newKey(t))
	_, vkey, _ := didregistry.NewNoteSigner(testOrigin, other)
	v, _ := noteVerifier(vkey)
	if _, err := Verify(t.Context(), tl.db, didregistry.Rules{}, testOrigin, v, nil); err == nil {
		t.Errorf("Verify with another log key succeeded")
	}
}
