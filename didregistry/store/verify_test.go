package store

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/pgtest"
	istore "github.com/tongid/tong/internal/store"
)

func dropTriggers(t *testing.T, tl *testLog) {
	t.Helper()
	if tl.db.Engine() == istore.PostgreSQL {
		for _, tbl := range []string{"entries", "hashes", "checkpoints"} {
			if _, err := tl.db.Writer().ExecContext(t.Context(), fmt.Sprintf("ALTER TABLE registry_%s DISABLE TRIGGER USER", tbl)); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	for _, tbl := range []string{"entries", "hashes", "checkpoints"} {
		for _, op := range []string{"update", "delete"} {
			if _, err := tl.db.Writer().ExecContext(t.Context(), fmt.Sprintf("DROP TRIGGER registry_%s_no_%s", tbl, op)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Changing one row directly in the database makes Verify fail and name
// the index.
func TestVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name             string
		sqlite, postgres string
		target           int64
	}{
		{"leaf byte",
			`UPDATE registry_entries SET leaf = CAST(REPLACE(CAST(leaf AS TEXT), '"seq":1', '"seq":1 ') AS BLOB) WHERE idx = 5`,
			`UPDATE registry_entries SET leaf = convert_to(replace(convert_from(leaf, 'UTF8'), '"seq":1', '"seq":1 '), 'UTF8') WHERE idx = 5`, 5},
		{"stored hash",
			`UPDATE registry_hashes SET hash = zeroblob(32) WHERE id = (SELECT MAX(id) FROM registry_hashes) - 3`,
			`UPDATE registry_hashes SET hash = decode(repeat('00', 32), 'hex') WHERE id = (SELECT MAX(id) FROM registry_hashes) - 3`, -2},
		{"did column", `UPDATE registry_entries SET did = 'did:tong:zEvil' WHERE idx = 7`, "", 7},
		{"deleted entry", `DELETE FROM registry_entries WHERE idx = 3`, "", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
				t.Parallel()
				_, logKey, _ := ed25519.GenerateKey(rand.Reader)
				tl := openTestLog(t, x, "", logKey)
				for range 10 {
					tl.create(newKey(t))
				}
				rep, err := Verify(t.Context(), tl.db, didregistry.Rules{}, testOrigin, tl.verifier, nil)
				if err != nil || rep.Entries != 10 || rep.Checkpoints != 10 {
					t.Fatalf("Verify before tampering = %+v, %v", rep, err)
				}
				dropTriggers(t, tl)
				stmt := tc.sqlite
				if x.Engine == istore.PostgreSQL && tc.postgres != "" {
					stmt = tc.postgres
				}
				if res, err := tl.db.Writer().ExecContext(t.Context(), stmt); err != nil {
					t.Fatal(err)
				} else if n, _ := res.RowsAffected(); n != 1 {
					t.Fatalf("%s changed %d rows, want 1", stmt, n)
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
		})
	}
}

func TestVerifyWrongLogKey(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		_, logKey, _ := ed25519.GenerateKey(rand.Reader)
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		tl := openTestLog(t, x, "", logKey)
		tl.create(newKey(t))
		_, vkey, _ := didregistry.NewNoteSigner(testOrigin, other)
		v, _ := noteVerifier(vkey)
		if _, err := Verify(t.Context(), tl.db, didregistry.Rules{}, testOrigin, v, nil); err == nil {
			t.Errorf("Verify with another log key succeeded")
		}
	})
}
