package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tongid/tong/didregistry"
)

// On PostgreSQL every statement is a round trip to the server, and the
// sequencer's batches queue on the head row's lock: a batch writes its
// entries, stored hashes and heads with one statement per table (arrays
// through unnest), and reads the heads it needs with one query.
const (
	qPGSelectHeads   = `SELECT did, state FROM registry_heads WHERE did = ANY($1::TEXT[])`
	qPGInsertHashes  = `INSERT INTO registry_hashes (id, hash) SELECT * FROM unnest($1::BIGINT[], $2::BYTEA[])`
	qPGInsertEntries = `INSERT INTO registry_entries (idx, did, seq, op_type, entry_hash, version_time, leaf)
		SELECT * FROM unnest($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::BYTEA[])`
	qPGUpsertHeads = `INSERT INTO registry_heads (did, seq, head_idx, state)
		SELECT * FROM unnest($1::TEXT[], $2::BIGINT[], $3::BIGINT[], $4::TEXT[])
		ON CONFLICT (did) DO UPDATE SET seq = excluded.seq, head_idx = excluded.head_idx, state = excluded.state`
)

// pgRows collects one batch's rows.
type pgRows struct {
	prefetched map[string]*didregistry.State

	hashIDs []int64
	hashes  [][]byte

	idx                                 []int64
	did, opType, entryHash, versionTime []string
	seq                                 []int64
	leaf                                [][]byte
}

func (r *pgRows) prefetch(ctx context.Context, tx *bound, batch []*pending) error {
	seen := map[string]bool{}
	var dids []string
	for _, p := range batch {
		if !seen[p.op.DID] {
			seen[p.op.DID] = true
			dids = append(dids, p.op.DID)
		}
	}
	r.prefetched = make(map[string]*didregistry.State, len(dids))
	rows, err := tx.tx.QueryContext(ctx, qPGSelectHeads, dids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var d, raw string
		if err := rows.Scan(&d, &raw); err != nil {
			return err
		}
		var s didregistry.State
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			return fmt.Errorf("head of %s: %w", d, err)
		}
		r.prefetched[d] = &s
	}
	return rows.Err()
}

func (r *pgRows) addEntry(idx int64, op *didregistry.Operation, entryHash string, leaf []byte) {
	r.idx = append(r.idx, idx)
	r.did = append(r.did, op.DID)
	r.seq = append(r.seq, op.Seq)
	r.opType = append(r.opType, op.Type)
	r.entryHash = append(r.entryHash, entryHash)
	r.versionTime = append(r.versionTime, op.VersionTime)
	r.leaf = append(r.leaf, leaf)
}

// write inserts the batch's stored hashes and entries, and upserts the
// heads it changed (heads holds each DID's newest state in the batch).
func (r *pgRows) write(ctx context.Context, tx *bound, heads map[string]*didregistry.State) error {
	if len(r.idx) == 0 {
		return errors.New("pgRows.write: no entries")
	}
	if _, err := tx.tx.ExecContext(ctx, qPGInsertHashes, r.hashIDs, r.hashes); err != nil {
		return fmt.Errorf("insert stored hashes: %w", err)
	}
	if _, err := tx.tx.ExecContext(ctx, qPGInsertEntries, r.idx, r.did, r.seq, r.opType, r.entryHash, r.versionTime, r.leaf); err != nil {
		return fmt.Errorf("insert entries: %w", err)
	}
	dids := make([]string, 0, len(heads))
	seqs := make([]int64, 0, len(heads))
	idxs := make([]int64, 0, len(heads))
	states := make([]string, 0, len(heads))
	for d, s := range heads {
		raw, err := json.Marshal(s)
		if err != nil {
			return err
		}
		dids, seqs, idxs, states = append(dids, d), append(seqs, s.Seq), append(idxs, s.LogIndex), append(states, string(raw))
	}
	if _, err := tx.tx.ExecContext(ctx, qPGUpsertHeads, dids, seqs, idxs, states); err != nil {
		return fmt.Errorf("upsert heads: %w", err)
	}
	return nil
}
