// Package store keeps the did:tong registry's log in SQLite (through
// internal/store) and sequences appends with group commit.
//
// # Writes
//
// [Log.Append] hands an operation to the sequencer goroutine and waits.
// The sequencer takes every operation pending (up to MaxBatch), validates
// each against its DID's head (heads changed earlier in the batch
// included), and writes the accepted operations, their stored hashes, the
// derived tables and a newly signed checkpoint in ONE transaction: one
// fsync serves the batch. Append returns only after that transaction has
// committed, so an acknowledged operation survives a crash. An operation
// that fails validation gets its error and does not disturb the others.
//
// # Shutdown
//
// Close stops the sequencer after the batch in flight commits; Appends
// still waiting get ErrClosed. Close the Log before the database.
package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/tongid/tong/didregistry"
	istore "github.com/tongid/tong/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Component is the migration component name.
const Component = "didregistry"

// DefaultMaxBatch bounds the operations one transaction commits.
const DefaultMaxBatch = 1024

// maxHashCache bounds the sequencer's cache of stored hashes. Its keys are
// the log's own, never a client's, and each entry is fixed-size (an 8-byte
// id and a 32-byte hash, about 64 bytes in a map), so a bound on entries is
// a bound on bytes: about 16 MiB.
const maxHashCache = 1 << 18

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("didregistry/store: closed")

// Config configures a Log.
type Config struct {
	DB *istore.DB
	// Origin is the log's name, the first line of its checkpoints.
	Origin string
	// Signer signs checkpoints; its name must equal Origin.
	Signer note.Signer
	Rules  didregistry.Rules
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxBatch is the most operations per commit; zero means DefaultMaxBatch.
	MaxBatch int
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	switch {
	case c.DB == nil:
		return errors.New("didregistry/store: Config.DB is required")
	case c.Signer == nil:
		return errors.New("didregistry/store: Config.Signer is required")
	case c.Origin == "" || c.Signer.Name() != c.Origin:
		return fmt.Errorf("didregistry/store: the signer's name %q must be the origin %q", c.Signer.Name(), c.Origin)
	case c.MaxBatch < 0:
		return errors.New("didregistry/store: MaxBatch must not be negative")
	}
	return nil
}

// Log is the registry's durable log.
type Log struct {
	cfg Config
	db  *istore.DB
	log *slog.Logger

	in     chan *pending
	stop   chan struct{}
	done   chan struct{}
	closed sync.Once

	// Owned by the sequencer goroutine.
	size  int64
	cache map[int64]tlog.Hash
	stmts prepared

	mu     sync.RWMutex
	latest Published
}

// Published is the newest signed checkpoint.
type Published struct {
	Size   int64
	Root   tlog.Hash
	Signed []byte // the signed note
}

type pending struct {
	ctx  context.Context
	leaf []byte
	op   *didregistry.Operation
	res  chan result
}

type result struct {
	receipt Receipt
	err     error
}

// Receipt says where an acknowledged operation sits.
type Receipt struct {
	Index     int64  `json:"logIndex"`
	DID       string `json:"did"`
	VersionID string `json:"versionId"`
	// TreeSize is the size of the first checkpoint that includes it.
	TreeSize int64 `json:"treeSize"`
}

// Open migrates the database, loads the log's size and newest checkpoint,
// and starts the sequencer.
func Open(ctx context.Context, cfg Config) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	sub, _ := fs.Sub(migrations, "migrations")
	if _, err := cfg.DB.Migrate(ctx, Component, sub); err != nil {
		return nil, err
	}
	l := &Log{cfg: cfg, db: cfg.DB, log: cfg.Logger, in: make(chan *pending, 4*cfg.MaxBatch),
		stop: make(chan struct{}), done: make(chan struct{}), cache: map[int64]tlog.Hash{}}
	w := cfg.DB.Writer()
	if err := w.QueryRowContext(ctx, `SELECT COUNT(*) FROM registry_entries`).Scan(&l.size); err != nil {
		return nil, fmt.Errorf("didregistry/store: %w", err)
	}
	var p Published
	var root []byte
	err := w.QueryRowContext(ctx, `SELECT size, root, signed FROM registry_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&p.Size, &root, &p.Signed)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("didregistry/store: %w", err)
	default:
		copy(p.Root[:], root)
		if p.Size != l.size {
			return nil, fmt.Errorf("didregistry/store: the newest checkpoint has size %d but the log holds %d entries (run tong registry verify)", p.Size, l.size)
		}
	}
	l.latest = p
	if l.stmts, err = prepare(ctx, w, sequencerQueries...); err != nil {
		return nil, fmt.Errorf("didregistry/store: %w", err)
	}
	go l.sequence()
	return l, nil
}

// Close stops the sequencer after the batch in flight.
func (l *Log) Close() error {
	l.closed.Do(func() { close(l.stop) })
	<-l.done
	return nil
}

// Latest is the newest signed checkpoint (Size 0 before the first entry).
func (l *Log) Latest() Published {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.latest
}

// Append validates and durably appends one operation (its canonical
// bytes), returning its place in the log.
func (l *Log) Append(ctx context.Context, leaf []byte) (Receipt, error) {
	op, err := didregistry.ParseOperation(leaf)
	if err != nil {
		return Receipt{}, err
	}
	// The stateless checks (signatures above all) run here, in the
	// caller's goroutine, in parallel; the sequencer does the rest.
	if _, err := didregistry.Precheck(op); err != nil {
		return Receipt{}, err
	}
	p := &pending{ctx: ctx, leaf: leaf, op: op, res: make(chan result, 1)}
	select {
	case l.in <- p:
	case <-l.stop:
		return Receipt{}, ErrClosed
	case <-ctx.Done():
		return Receipt{}, ctx.Err()
	}
	select {
	case r := <-p.res:
		return r.receipt, r.err
	case <-l.done:
		select {
		case r := <-p.res:
			return r.receipt, r.err
		default:
			return Receipt{}, ErrClosed
		}
	}
	// A canceled ctx does not abandon the wait: the operation may already
	// be committing, and the caller must learn whether it was.
}

func (l *Log) sequence() {
	defer close(l.done)
	defer l.stmts.close()
	for {
		var first *pending
		select {
		case first = <-l.in:
		case <-l.stop:
			l.drainClosed()
			return
		}
		batch := []*pending{first}
	fill:
		for len(batch) < l.cfg.MaxBatch {
			select {
			case p := <-l.in:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		l.commit(batch)
	}
}

func (l *Log) drainClosed() {
	for {
		select {
		case p := <-l.in:
			p.res <- result{err: ErrClosed}
		default:
			return
		}
	}
}

// The sequencer's statements, prepared once (see prepared).
const (
	qSelectHead       = `SELECT state FROM registry_heads WHERE did = $1`
	qSelectRevokedAt  = `SELECT revoked_at FROM registry_accreditations WHERE version_id = $1`
	qInsertHash       = `INSERT INTO registry_hashes (id, hash) VALUES ($1, $2)`
	qInsertEntry      = `INSERT INTO registry_entries (idx, did, seq, op_type, entry_hash, version_time, leaf) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	qInsertCheckpoint = `INSERT INTO registry_checkpoints (size, root, signed, created) VALUES ($1, $2, $3, $4)`
	qUpsertHead       = `INSERT INTO registry_heads (did, seq, head_idx, state) VALUES ($1, $2, $3, $4)
		ON CONFLICT (did) DO UPDATE SET seq = excluded.seq, head_idx = excluded.head_idx, state = excluded.state`
	// Issuer URL bindings come only from the trust authority's
	// accreditations (docs/did-method-tong.md §8): a binding is replaced
	// by deleting and inserting, never by a conflict clause a document
	// could reach.
	qSelectIssuerURL     = `SELECT did FROM registry_issuer_urls WHERE url = $1`
	qDeleteIssuerURL     = `DELETE FROM registry_issuer_urls WHERE url = $1`
	qDeleteIssuerURLs    = `DELETE FROM registry_issuer_urls WHERE did = $1`
	qInsertIssuerURL     = `INSERT INTO registry_issuer_urls (url, did) VALUES ($1, $2)`
	qInsertAccreditation = `INSERT INTO registry_accreditations (version_id, subject, role, scope, valid_from, valid_until, idx) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	qRevokeAccreditation = `UPDATE registry_accreditations SET revoked_at = $1 WHERE version_id = $2 AND revoked_at = ''`
	qSelectHash          = `SELECT hash FROM registry_hashes WHERE id = $1`
)

var sequencerQueries = []string{qSelectHead, qSelectRevokedAt, qInsertHash, qInsertEntry, qInsertCheckpoint, qUpsertHead, qSelectIssuerURL, qDeleteIssuerURL, qDeleteIssuerURLs, qInsertIssuerURL, qInsertAccreditation, qRevokeAccreditation, qSelectHash}

// hashReader reads stored hashes: this batch's, then the cache, then the
// database through q.
type hashReader struct {
	ctx context.Context
	q   interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}
	overlay map[int64]tlog.Hash
	cache   map[int64]tlog.Hash
}

func (h *hashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, id := range indexes {
		if v, ok := h.overlay[id]; ok {
			out[i] = v
			continue
		}
		if v, ok := h.cache[id]; ok {
			out[i] = v
			continue
		}
		var b []byte
		if err := h.q.QueryRowContext(h.ctx, qSelectHash, id).Scan(&b); err != nil {
			return nil, fmt.Errorf("read stored hash %d: %w", id, err)
		}
		if len(b) != tlog.HashSize {
			return nil, fmt.Errorf("stored hash %d has %d bytes", id, len(b))
		}
		copy(out[i][:], b)
		if h.cache != nil {
			h.cache[id] = out[i]
		}
	}
	return out, nil
}

func (l *Log) loadHead(ctx context.Context, tx *bound, did string) (*didregistry.State, error) {
	var raw string
	err := tx.QueryRowContext(ctx, qSelectHead, did).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s didregistry.State
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return nil, fmt.Errorf("head of %s: %w", did, err)
	}
	return &s, nil
}

func (l *Log) commit(batch []*pending) {
	ctx := context.Background()
	results := make([]result, len(batch))
	overlay := map[int64]tlog.Hash{}
	heads := map[string]*didregistry.State{}
	size := l.size
	var published Published
	err := l.db.WriteTx(ctx, func(sqlTx *sql.Tx) error {
		tx := l.stmts.bind(sqlTx)
		hr := &hashReader{ctx: ctx, q: tx, overlay: overlay, cache: l.cache}
		now := l.cfg.Now()
		for i, p := range batch {
			if p.ctx.Err() != nil {
				results[i].err = p.ctx.Err()
				continue
			}
			head, ok := heads[p.op.DID]
			if !ok {
				h, err := l.loadHead(ctx, tx, p.op.DID)
				if err != nil {
					return err
				}
				head = h
			}
			if head == nil && p.op.Type != didregistry.OpCreate {
				results[i].err = &didregistry.Error{Code: didregistry.CodeNotFound, Detail: p.op.DID + " does not exist"}
				continue
			}
			if head != nil && p.op.Type == didregistry.OpCreate {
				results[i].err = &didregistry.Error{Code: didregistry.CodeExists, Detail: p.op.DID + " already exists"}
				continue
			}
			next, err := l.cfg.Rules.Validate(head, p.op, p.leaf, now)
			if err != nil {
				results[i].err = err
				continue
			}
			if err := didregistry.CheckIssuerURLs(p.op, func(u string) (string, error) {
				var d string
				err := tx.QueryRowContext(ctx, qSelectIssuerURL, u).Scan(&d)
				if errors.Is(err, sql.ErrNoRows) {
					return "", nil
				}
				return d, err
			}); err != nil {
				if didregistry.CodeOf(err) == didregistry.CodeIssuerURLTaken {
					results[i].err = err
					continue
				}
				return err
			}
			if p.op.Type == didregistry.OpRevoke {
				var revokedAt string
				err := tx.QueryRowContext(ctx, qSelectRevokedAt, p.op.Revokes).Scan(&revokedAt)
				if errors.Is(err, sql.ErrNoRows) || (err == nil && revokedAt != "") {
					results[i].err = &didregistry.Error{Code: didregistry.CodeNotFound, Detail: "no live accreditation " + p.op.Revokes}
					continue
				}
				if err != nil {
					return err
				}
			}
			idx := size
			hashes, err := tlog.StoredHashes(idx, p.leaf, hr)
			if err != nil {
				return fmt.Errorf("stored hashes for %d: %w", idx, err)
			}
			first := tlog.StoredHashCount(idx)
			for k, h := range hashes {
				overlay[first+int64(k)] = h
				if _, err := tx.ExecContext(ctx, qInsertHash, first+int64(k), h[:]); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, qInsertEntry,
				idx, p.op.DID, p.op.Seq, p.op.Type, next.EntryHash, p.op.VersionTime, p.leaf); err != nil {
				return err
			}
			next.LogIndex = idx
			if err := l.derive(ctx, tx, p.op, next); err != nil {
				return err
			}
			heads[p.op.DID] = next
			size++
			results[i].receipt = Receipt{Index: idx, DID: p.op.DID, VersionID: next.VersionID()}
		}
		if size == l.size {
			return nil // nothing accepted: no checkpoint
		}
		root, err := tlog.TreeHash(size, hr)
		if err != nil {
			return fmt.Errorf("tree hash: %w", err)
		}
		c := didregistry.Checkpoint{Origin: l.cfg.Origin, Size: size, Hash: root}
		signed, err := note.Sign(&note.Note{Text: string(c.Marshal())}, l.cfg.Signer)
		if err != nil {
			return fmt.Errorf("sign checkpoint: %w", err)
		}
		if _, err := tx.ExecContext(ctx, qInsertCheckpoint,
			size, root[:], string(signed), didregistry.FormatTime(now)); err != nil {
			return err
		}
		published = Published{Size: size, Root: root, Signed: signed}
		return nil
	})
	if err != nil {
		l.log.Error("registry batch failed", slog.Int("ops", len(batch)), slog.Any("err", err))
		for _, p := range batch {
			p.res <- result{err: &didregistry.Error{Code: didregistry.CodeUnavailable, Detail: "the registry could not commit", Err: err}}
		}
		clear(l.cache) // it may hold hashes of the rolled-back batch's reads only; reload from disk
		return
	}
	if published.Size > 0 {
		if len(l.cache)+len(overlay) > maxHashCache {
			clear(l.cache)
		}
		for k, v := range overlay {
			l.cache[k] = v
		}
		l.size = published.Size
		l.mu.Lock()
		l.latest = published
		l.mu.Unlock()
	}
	for i, p := range batch {
		if results[i].err == nil {
			results[i].receipt.TreeSize = published.Size
		}
		p.res <- results[i]
	}
}

// derive updates the tables derived from the log.
func (l *Log) derive(ctx context.Context, tx *bound, op *didregistry.Operation, next *didregistry.State) error {
	state, err := json.Marshal(next)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, qUpsertHead, next.DID, next.Seq, next.LogIndex, string(state)); err != nil {
		return err
	}
	switch op.Type {
	case didregistry.OpDeactivate:
		if _, err := tx.ExecContext(ctx, qDeleteIssuerURLs, op.DID); err != nil {
			return err
		}
	case didregistry.OpAccredit:
		a := op.Accreditation
		scope, _ := json.Marshal(a.Scope)
		if _, err := tx.ExecContext(ctx, qInsertAccreditation,
			next.VersionID(), a.Subject, a.Role, string(scope), a.ValidFrom, a.ValidUntil, next.LogIndex); err != nil {
			return err
		}
		if u, subject := op.BoundIssuer(); u != "" {
			if _, err := tx.ExecContext(ctx, qDeleteIssuerURL, u); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, qInsertIssuerURL, u, subject); err != nil {
				return err
			}
		}
	case didregistry.OpRevoke:
		if _, err := tx.ExecContext(ctx, qRevokeAccreditation, op.VersionTime, op.Revokes); err != nil {
			return err
		}
	}
	return nil
}

// State returns did's head, or an error with CodeNotFound.
func (l *Log) State(ctx context.Context, did string) (*didregistry.State, error) {
	var raw string
	err := l.db.Reader().QueryRowContext(ctx, `SELECT state FROM registry_heads WHERE did = $1`, did).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &didregistry.Error{Code: didregistry.CodeNotFound, Detail: did + " is not registered"}
	}
	if err != nil {
		return nil, err
	}
	var s didregistry.State
	return &s, json.Unmarshal([]byte(raw), &s)
}

// Chain returns did's operations in order.
func (l *Log) Chain(ctx context.Context, did string) ([]didregistry.Entry, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT idx, leaf FROM registry_entries WHERE did = $1 ORDER BY seq`, did)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []didregistry.Entry
	for rows.Next() {
		var e didregistry.Entry
		if err := rows.Scan(&e.Index, &e.Leaf); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, &didregistry.Error{Code: didregistry.CodeNotFound, Detail: did + " is not registered"}
	}
	return out, nil
}

// ChainPage returns at most limit of did's operations with seq > after, in
// order: a DID's chain read a page at a time, so that no reader holds a
// long chain (each leaf up to 60 KiB) in memory at once.
func (l *Log) ChainPage(ctx context.Context, did string, after int64, limit int) ([]didregistry.Entry, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT idx, leaf FROM registry_entries WHERE did = $1 AND seq > $2 ORDER BY seq LIMIT $3`, did, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []didregistry.Entry
	for rows.Next() {
		var e didregistry.Entry
		if err := rows.Scan(&e.Index, &e.Leaf); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Leaves returns the leaves with indexes in [start, end).
func (l *Log) Leaves(ctx context.Context, start, end int64) ([][]byte, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT leaf FROM registry_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx`, start, end)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// HashReader reads stored hashes from the read pool.
func (l *Log) HashReader(ctx context.Context) tlog.HashReader {
	return &hashReader{ctx: ctx, q: l.db.Reader()}
}

// ProveInclusion proves leaf index is in the tree of size.
func (l *Log) ProveInclusion(ctx context.Context, index, size int64) (tlog.RecordProof, error) {
	return tlog.ProveRecord(size, index, l.HashReader(ctx))
}

// ProveConsistency proves the tree of size old is a prefix of the tree of
// size new.
func (l *Log) ProveConsistency(ctx context.Context, old, new int64) (tlog.TreeProof, error) {
	return tlog.ProveTree(new, old, l.HashReader(ctx))
}

// Checkpoint returns the signed checkpoint of a given size.
func (l *Log) Checkpoint(ctx context.Context, size int64) ([]byte, error) {
	var s string
	err := l.db.Reader().QueryRowContext(ctx, `SELECT signed FROM registry_checkpoints WHERE size = $1`, size).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &didregistry.Error{Code: didregistry.CodeNotFound, Detail: fmt.Sprintf("no checkpoint of size %d", size)}
	}
	return []byte(s), err
}

// AccreditationRecord is an accreditation as the log derived it.
type AccreditationRecord struct {
	didregistry.Accreditation
	VersionID string `json:"versionId"`
	LogIndex  int64  `json:"logIndex"`
	RevokedAt string `json:"revokedAt,omitempty"`
}

// Accreditations lists the accreditations of subject.
func (l *Log) Accreditations(ctx context.Context, subject string) ([]AccreditationRecord, error) {
	rows, err := l.db.Reader().QueryContext(ctx, `SELECT version_id, subject, role, scope, valid_from, valid_until, idx, revoked_at
		FROM registry_accreditations WHERE subject = $1 ORDER BY idx`, subject)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AccreditationRecord
	for rows.Next() {
		var a AccreditationRecord
		var scope string
		if err := rows.Scan(&a.VersionID, &a.Subject, &a.Role, &scope, &a.ValidFrom, &a.ValidUntil, &a.LogIndex, &a.RevokedAt); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(scope), &a.Scope); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Accredited reports whether subject was accredited for role and scope
// item at time at (and not revoked by then).
func (l *Log) Accredited(ctx context.Context, subject, role, item string, at time.Time) (bool, error) {
	as, err := l.Accreditations(ctx, subject)
	if err != nil {
		return false, err
	}
	for _, a := range as {
		if a.Role != role || !contains(a.Scope, item) {
			continue
		}
		from, _ := time.Parse(time.RFC3339, a.ValidFrom)
		if at.Before(from) {
			continue
		}
		if a.ValidUntil != "" {
			if until, _ := time.Parse(time.RFC3339, a.ValidUntil); !at.Before(until) {
				continue
			}
		}
		if a.RevokedAt != "" {
			if rev, _ := time.Parse(time.RFC3339, a.RevokedAt); !at.Before(rev) {
				continue
			}
		}
		return true, nil
	}
	return false, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// DIDForIssuerURL returns the DID the trust authority bound the issuer URL
// to (docs/did-method-tong.md §8).
func (l *Log) DIDForIssuerURL(ctx context.Context, url string) (string, error) {
	var d string
	err := l.db.Reader().QueryRowContext(ctx, `SELECT did FROM registry_issuer_urls WHERE url = $1`, strings.TrimSuffix(url, "/")).Scan(&d)
	if errors.Is(err, sql.ErrNoRows) {
		return "", &didregistry.Error{Code: didregistry.CodeNotFound, Detail: "the trust authority bound no DID to issuer " + url}
	}
	return d, err
}
