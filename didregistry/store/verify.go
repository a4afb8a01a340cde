package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tongid/tong/didregistry"
	istore "github.com/tongid/tong/internal/store"
)

// VerifyError names the first log index where the stored log disagrees
// with what replaying it computes.
type VerifyError struct {
	Index  int64 // the leaf index, or -1 for the tree as a whole
	Reason string
}

func (e *VerifyError) Error() string {
	if e.Index < 0 {
		return "didregistry: log does not verify: " + e.Reason
	}
	return fmt.Sprintf("didregistry: log does not verify at index %d: %s", e.Index, e.Reason)
}

// VerifyReport summarizes a successful verification.
type VerifyReport struct {
	Entries     int64  `json:"entries"`
	DIDs        int    `json:"dids"`
	Checkpoints int64  `json:"checkpoints"`
	Root        string `json:"root"`
	// Unpublished counts the newest entries that no checkpoint includes
	// yet: always 0 on SQLite; on PostgreSQL the entries that replicas
	// without the lease appended since the holder's last checkpoint.
	Unpublished int64         `json:"unpublished"`
	Elapsed     time.Duration `json:"elapsed_ns"`
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// memHashes is a tlog.HashReader over recomputed hashes.
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, id := range indexes {
		if id < 0 || id >= int64(len(m)) {
			return nil, fmt.Errorf("stored hash %d not computed", id)
		}
		out[i] = m[id]
	}
	return out, nil
}

// Verify replays the whole log in db from its first entry: it parses and
// validates every operation against the DID's replayed head (signatures,
// links, SCIDs, pre-rotation, times), recomputes every stored hash and
// compares it with the stored one, checks every checkpoint's root and
// signature (with v), and recomputes every derived table (heads,
// accreditations, issuer URL bindings) and compares it with the stored one. progress, if not nil, is called as entries are done.
// The first disagreement is a *VerifyError naming the index.
//
// On PostgreSQL, Verify reads one snapshot (a REPEATABLE READ, read-only
// transaction), so replicas may keep appending while it runs.
func Verify(ctx context.Context, db *istore.DB, rules didregistry.Rules, origin string, v note.Verifier, progress func(done, total int64)) (*VerifyReport, error) {
	start := time.Now()
	var r, r2 querier = db.Reader(), db.Reader()
	pg := db.Engine() == istore.PostgreSQL
	if pg {
		// Entries and hashes are read side by side, which needs two
		// connections: both read one exported snapshot.
		opts := &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
		tx, err := db.Reader().BeginTx(ctx, opts)
		if err != nil {
			return nil, err
		}
		defer tx.Rollback()
		var snap string
		if err := tx.QueryRowContext(ctx, `SELECT pg_export_snapshot()`).Scan(&snap); err != nil {
			return nil, err
		}
		tx2, err := db.Reader().BeginTx(ctx, opts)
		if err != nil {
			return nil, err
		}
		defer tx2.Rollback()
		if _, err := tx2.ExecContext(ctx, `SET TRANSACTION SNAPSHOT '`+strings.ReplaceAll(snap, "'", "")+`'`); err != nil {
			return nil, err
		}
		r, r2 = tx, tx2
	}
	var total int64
	if err := r.QueryRowContext(ctx, `SELECT COUNT(*) FROM registry_entries`).Scan(&total); err != nil {
		return nil, err
	}
	rows, err := r.QueryContext(ctx, `SELECT idx, did, seq, entry_hash, leaf FROM registry_entries ORDER BY idx`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	hashRows, err := r2.QueryContext(ctx, `SELECT id, hash FROM registry_hashes ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer hashRows.Close()

	heads := map[string]*didregistry.State{}
	d := newDerived()
	computed := make(memHashes, 0, 2*total+64)
	now := time.Now()
	var n int64
	for rows.Next() {
		var idx, seq int64
		var id, entryHash string
		var leaf []byte
		if err := rows.Scan(&idx, &id, &seq, &entryHash, &leaf); err != nil {
			return nil, err
		}
		if idx != n {
			return nil, &VerifyError{Index: n, Reason: fmt.Sprintf("entry %d is missing (next is %d)", n, idx)}
		}
		op, err := didregistry.ParseOperation(leaf)
		if err != nil {
			return nil, &VerifyError{Index: idx, Reason: err.Error()}
		}
		if op.DID != id || op.Seq != seq || didregistry.EntryHash(leaf) != entryHash {
			return nil, &VerifyError{Index: idx, Reason: "the row's did, seq or entry hash does not match its leaf"}
		}
		next, err := rules.Validate(heads[op.DID], op, leaf, now)
		if err != nil {
			return nil, &VerifyError{Index: idx, Reason: err.Error()}
		}
		next.LogIndex = idx
		if err := d.apply(op, next); err != nil {
			return nil, &VerifyError{Index: idx, Reason: err.Error()}
		}
		heads[op.DID] = next
		hs, err := tlog.StoredHashes(idx, leaf, computed)
		if err != nil {
			return nil, &VerifyError{Index: idx, Reason: err.Error()}
		}
		for _, h := range hs {
			id := int64(len(computed))
			if !hashRows.Next() {
				return nil, &VerifyError{Index: idx, Reason: fmt.Sprintf("stored hash %d is missing", id)}
			}
			var got int64
			var b []byte
			if err := hashRows.Scan(&got, &b); err != nil {
				return nil, err
			}
			if got != id || len(b) != tlog.HashSize || tlog.Hash(b) != h {
				return nil, &VerifyError{Index: idx, Reason: fmt.Sprintf("stored hash %d differs from the recomputed one", id)}
			}
			computed = append(computed, h)
		}
		n++
		if progress != nil && (n%1024 == 0 || n == total) {
			progress(n, total)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if hashRows.Next() {
		return nil, &VerifyError{Index: -1, Reason: "stored hashes beyond the last entry"}
	}
	if err := d.compare(ctx, r, heads); err != nil {
		return nil, err
	}
	rep := &VerifyReport{Entries: n, DIDs: len(heads)}
	var headSize int64
	if err := r.QueryRowContext(ctx, qSelectHeadSize).Scan(&headSize); err != nil {
		return nil, err
	}
	if headSize != n {
		return nil, &VerifyError{Index: -1, Reason: fmt.Sprintf("the log head says %d entries, the log holds %d", headSize, n)}
	}
	if err := verifyCheckpoints(ctx, r, n, computed, origin, v, rep, pg); err != nil {
		return nil, err
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

func verifyCheckpoints(ctx context.Context, r querier, n int64, hr memHashes, origin string, v note.Verifier, rep *VerifyReport, pg bool) error {
	rows, err := r.QueryContext(ctx, `SELECT size, root, signed FROM registry_checkpoints ORDER BY size`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var last int64
	for rows.Next() {
		var size int64
		var root []byte
		var signed string
		if err := rows.Scan(&size, &root, &signed); err != nil {
			return err
		}
		if size > n {
			return &VerifyError{Index: -1, Reason: fmt.Sprintf("checkpoint of size %d is beyond the %d entries", size, n)}
		}
		want, err := tlog.TreeHash(size, hr)
		if err != nil {
			return err
		}
		c, err := didregistry.OpenCheckpoint([]byte(signed), origin, v)
		if err != nil {
			return &VerifyError{Index: size - 1, Reason: fmt.Sprintf("checkpoint of size %d: %v", size, err)}
		}
		if c.Size != size || c.Hash != want || len(root) != tlog.HashSize || tlog.Hash(root) != want {
			return &VerifyError{Index: size - 1, Reason: fmt.Sprintf("checkpoint of size %d does not match the recomputed root", size)}
		}
		rep.Checkpoints++
		rep.Root = want.String()
		last = size
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rep.Unpublished = n - last
	if pg && n > 0 && last > 0 {
		return nil // the lease holder checkpoints the rest
	}
	if last != n {
		return &VerifyError{Index: -1, Reason: fmt.Sprintf("the newest checkpoint has size %d, the log %d entries", last, n)}
	}
	return nil
}

// derived is what the derived tables hold, recomputed from the log.
type derived struct {
	accreditations map[string]*accRow // by the versionId of the accredit
	bindings       map[string]string  // issuer URL → DID
}

type accRow struct {
	subject, role, scope, validFrom, validUntil, revokedAt string
	idx                                                    int64
}

func newDerived() *derived {
	return &derived{accreditations: map[string]*accRow{}, bindings: map[string]string{}}
}

// apply replays what the sequencer's admission and derive do beyond
// Rules.Validate: the issuer URL rule and the live-accreditation check of
// a revocation, then the derived rows.
func (d *derived) apply(op *didregistry.Operation, next *didregistry.State) error {
	if err := didregistry.CheckIssuerURLs(op, func(u string) (string, error) { return d.bindings[u], nil }); err != nil {
		return err
	}
	switch op.Type {
	case didregistry.OpDeactivate:
		for u, id := range d.bindings {
			if id == op.DID {
				delete(d.bindings, u)
			}
		}
	case didregistry.OpAccredit:
		a := op.Accreditation
		scope, _ := json.Marshal(a.Scope)
		d.accreditations[next.VersionID()] = &accRow{subject: a.Subject, role: a.Role, scope: string(scope),
			validFrom: a.ValidFrom, validUntil: a.ValidUntil, idx: next.LogIndex}
		if u, subject := op.BoundIssuer(); u != "" {
			d.bindings[u] = subject
		}
	case didregistry.OpRevoke:
		a := d.accreditations[op.Revokes]
		if a == nil || a.revokedAt != "" {
			return fmt.Errorf("revokes %s, which is not a live accreditation", op.Revokes)
		}
		a.revokedAt = op.VersionTime
	}
	return nil
}

// compare checks the stored derived tables against the recomputed ones,
// row by row in both directions.
func (d *derived) compare(ctx context.Context, r querier, heads map[string]*didregistry.State) error {
	mismatch := func(table, format string, args ...any) error {
		return &VerifyError{Index: -1, Reason: "derived table " + table + ": " + fmt.Sprintf(format, args...)}
	}
	n := 0
	err := eachRow(ctx, r, `SELECT did, seq, head_idx, state FROM registry_heads`, func(rows *sql.Rows) error {
		var id, state string
		var seq, idx int64
		if err := rows.Scan(&id, &seq, &idx, &state); err != nil {
			return err
		}
		h := heads[id]
		if h == nil {
			return mismatch("registry_heads", "%s has a head but no operation", id)
		}
		want, err := json.Marshal(h)
		if err != nil {
			return err
		}
		if seq != h.Seq || idx != h.LogIndex || state != string(want) {
			return mismatch("registry_heads", "the head of %s differs from the replayed one", id)
		}
		n++
		return nil
	})
	if err != nil {
		return err
	}
	if n != len(heads) {
		return mismatch("registry_heads", "%d rows, the log has %d DIDs", n, len(heads))
	}
	n = 0
	err = eachRow(ctx, r, `SELECT version_id, subject, role, scope, valid_from, valid_until, idx, revoked_at FROM registry_accreditations`, func(rows *sql.Rows) error {
		var v string
		var got accRow
		if err := rows.Scan(&v, &got.subject, &got.role, &got.scope, &got.validFrom, &got.validUntil, &got.idx, &got.revokedAt); err != nil {
			return err
		}
		if want := d.accreditations[v]; want == nil || *want != got {
			return mismatch("registry_accreditations", "accreditation %s differs from the log's", v)
		}
		n++
		return nil
	})
	if err != nil {
		return err
	}
	if n != len(d.accreditations) {
		return mismatch("registry_accreditations", "%d rows, the log made %d accreditations", n, len(d.accreditations))
	}
	n = 0
	err = eachRow(ctx, r, `SELECT url, did FROM registry_issuer_urls`, func(rows *sql.Rows) error {
		var u, id string
		if err := rows.Scan(&u, &id); err != nil {
			return err
		}
		if want, ok := d.bindings[u]; !ok || want != id {
			return mismatch("registry_issuer_urls", "issuer %s is bound to %s, the log binds %q", u, id, want)
		}
		n++
		return nil
	})
	if err != nil {
		return err
	}
	if n != len(d.bindings) {
		return mismatch("registry_issuer_urls", "%d rows, the log binds %d issuer URLs", n, len(d.bindings))
	}
	return nil
}

func eachRow(ctx context.Context, r querier, q string, fn func(*sql.Rows) error) error {
	rows, err := r.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
