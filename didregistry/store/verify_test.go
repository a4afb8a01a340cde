package store

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

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

// Verify recomputes every derived table from the log (issue 16 item 1):
// a row changed, added or removed directly in SQLite is a mismatch.
func TestVerifyRecomputesDerivedTables(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, stmt string }{
		{"issuer URL rebound", `UPDATE registry_issuer_urls SET did = (SELECT did FROM registry_heads WHERE did <> registry_issuer_urls.did LIMIT 1)`},
		{"issuer URL added", `INSERT INTO registry_issuer_urls (url, did) VALUES ('https://tong.test/issuers/evil', 'did:tong:zEvil')`},
		{"issuer URL removed", `DELETE FROM registry_issuer_urls`},
		{"accreditation revoked", `UPDATE registry_accreditations SET revoked_at = '2026-01-01T00:00:00Z'`},
		{"accreditation widened", `UPDATE registry_accreditations SET scope = '["urn:tong:vct:any"]'`},
		{"accreditation added", `INSERT INTO registry_accreditations (version_id, subject, role, scope, valid_from, idx) VALUES ('9-zX', 'did:tong:zEvil', 'issuer', '["x"]', '2026-01-01T00:00:00Z', 0)`},
		{"head rewound", `UPDATE registry_heads SET seq = 1 WHERE seq = 2`},
		{"head state changed", `UPDATE registry_heads SET state = REPLACE(state, '"Deactivated":false', '"Deactivated":true')`},
		{"head removed", `DELETE FROM registry_heads WHERE seq = 1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
				_, logKey, _ := ed25519.GenerateKey(rand.Reader)
				authKey := newKey(t)
				authOp, _ := didregistry.NewGenesis(authKey, doc(t, didregistry.PlaceholderDID, &authKey.PublicKey, ""), []crypto.PublicKey{&authKey.PublicKey}, nil, time.Now().Add(-2*time.Hour))
				tl := openTestLog(t, x, authOp.DID, logKey)
				if _, err := tl.append(authOp); err != nil {
					t.Fatal(err)
				}
				agencyKey := newKey(t)
				agency, err := didregistry.NewGenesis(agencyKey, doc(t, didregistry.PlaceholderDID, &agencyKey.PublicKey, "https://tong.test/issuers/psb"), []crypto.PublicKey{&agencyKey.PublicKey}, nil, tl.clock())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tl.append(agency); err != nil {
					t.Fatal(err)
				}
				acc := didregistry.Next(tl.head(authOp.DID), didregistry.OpAccredit, tl.clock())
				acc.Accreditation = &didregistry.Accreditation{Subject: agency.DID, Role: didregistry.RoleIssuer, Scope: []string{"urn:tong:vct:test:1"},
					ValidFrom: didregistry.FormatTime(time.Now().Add(-time.Hour)), CredentialIssuer: "https://tong.test/issuers/psb"}
				if err := acc.Sign(authKey); err != nil {
					t.Fatal(err)
				}
				if _, err := tl.append(acc); err != nil {
					t.Fatal(err)
				}
				rules := didregistry.Rules{TrustAuthority: authOp.DID}
				if _, err := Verify(t.Context(), tl.db, rules, testOrigin, tl.verifier, nil); err != nil {
					t.Fatalf("Verify before tampering = %v", err)
				}
				res, err := tl.db.Writer().ExecContext(t.Context(), tc.stmt)
				if err != nil {
					t.Fatal(err)
				}
				if n, _ := res.RowsAffected(); n == 0 {
					t.Fatalf("%s changed no row", tc.stmt)
				}
				_, err = Verify(t.Context(), tl.db, rules, testOrigin, tl.verifier, nil)
				var ve *VerifyError
				if !errors.As(err, &ve) {
					t.Fatalf("Verify after tampering = %v, want a *VerifyError", err)
				}
			})
		})
	}
}
