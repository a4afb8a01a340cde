// Package store keeps the did:tong registry's log in SQL (SQLite or
// PostgreSQL, through internal/store) and sequences appends with group
// commit.
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
// # Several replicas on PostgreSQL
//
// Any number of Logs (one per replica) may append to one PostgreSQL
// database. Each batch's transaction first locks the log's head row
// (registry_log_head, SELECT ... FOR UPDATE), reads the size there and
// writes its entries from that index on: the database orders the batches,
// each batch still commits many operations at once, and no two replicas
// can write different entries at one index (registry_entries' primary key
// would refuse the second even if the lock were bypassed).
//
// One replica at a time holds the sequencer lease (registry_lease: a
// holder, an expiry on the database's clock, and a fencing number that
// grows with each new holder). Only the holder signs checkpoints: in its
// own batches, and for other replicas' appends in a loop that runs every
// Config.Poll. Every transaction that publishes a checkpoint re-reads the
// lease row (FOR SHARE) and publishes only if the lease is still held by
// it, under its fence, and unexpired: a replica that was paused past its
// lease, or lost it, cannot publish. The holder renews every LeaseRenew;
// others try to take an expired lease as often. A dead holder's lease
// therefore passes to another replica at most LeaseTTL + LeaseRenew after
// its last renewal (6 s with the defaults, inside the 10 s we promise).
// A replica closing cleanly gives the lease up at once.
//
// An Append on a replica that does not hold the lease returns after its
// commit (the operation is durable) and once a checkpoint includes it, or
// after CheckpointWait with Receipt.TreeSize 0 if none does by then.
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

// Lease and polling defaults (PostgreSQL).
const (
	DefaultLeaseTTL       = 5 * time.Second
	DefaultLeaseRenew     = time.Second
	DefaultPoll           = 50 * time.Millisecond
	DefaultCheckpointWait = 15 * time.Second
)

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

	// The rest matter on PostgreSQL only; zero means the Default*.
	//
	// LeaseTTL is how long the sequencer lease lasts unrenewed; LeaseRenew
	// how often the holder renews it and the others try to take it.
	LeaseTTL, LeaseRenew time.Duration
	// Poll is how often a replica looks for a newer checkpoint (and the
	// lease holder for appends that lack one).
	Poll time.Duration
	// CheckpointWait bounds how long Append waits for a checkpoint that
	// includes its operation, on a replica that does not hold the lease.
	CheckpointWait time.Duration
	// Holder names this replica in the lease row; empty means a random
	// name. Two Logs must never share one.
	Holder string
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
	case c.LeaseTTL < 0 || c.LeaseRenew < 0 || c.Poll < 0 || c.CheckpointWait < 0:
		return errors.New("didregistry/store: durations must not be negative")
	case c.LeaseTTL > 0 && c.LeaseRenew > 0 && c.LeaseRenew*2 > c.LeaseTTL:
		return fmt.Errorf("didregistry/store: LeaseRenew %s must be at most half of LeaseTTL %s", c.LeaseRenew, c.LeaseTTL)
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

	mu      sync.RWMutex
	latest  Published
	changed chan struct{} // closed and replaced when latest changes

	// PostgreSQL only.
	pg     bool
	lease  lease
	follow chan struct{} // closed when the follower goroutine ends
}

// Published is the newest signed checkpoint.
type Published struct {
	Size   int64
	Root   tlog.Hash
	Signed []byte // the signed note
	// Fence is the lease term that signed it (0 on SQLite).
	Fence int64
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
	for _, d := range []struct {
		p   *time.Duration
		def time.Duration
	}{{&cfg.LeaseTTL, DefaultLeaseTTL}, {&cfg.LeaseRenew, DefaultLeaseRenew}, {&cfg.Poll, DefaultPoll}, {&cfg.CheckpointWait, DefaultCheckpointWait}} {
		if *d.p == 0 {
			*d.p = d.def
		}
	}
	if cfg.LeaseRenew*2 > cfg.LeaseTTL {
		return nil, fmt.Errorf("didregistry/store: LeaseRenew %s must be at most half of LeaseTTL %s", cfg.LeaseRenew, cfg.LeaseTTL)
	}
	if cfg.Holder == "" {
		cfg.Holder = randomHolder()
	}
	sub, _ := fs.Sub(migrations, "migrations")
	if _, err := cfg.DB.Migrate(ctx, Component, sub); err != nil {
		return nil, err
	}
	l := &Log{cfg: cfg, db: cfg.DB, log: cfg.Logger, in: make(chan *pending, 4*cfg.MaxBatch),
		stop: make(chan struct{}), done: make(chan struct{}), cache: map[int64]tlog.Hash{},
		changed: make(chan struct{}), pg: cfg.DB.Engine() == istore.PostgreSQL}
	w := cfg.DB.Writer()
	// The checkpoint first: other replicas may append in between, and the
	// head read second is then at least as far as the checkpoint.
	p, err := newestCheckpoint(ctx, w)
	if err != nil {
		return nil, fmt.Errorf("didregistry/store: %w", err)
	}
	if err := w.QueryRowContext(ctx, qSelectHeadSize).Scan(&l.size); err != nil {
		return nil, fmt.Errorf("didregistry/store: %w", err)
	}
	// On SQLite every batch signs its checkpoint in its own transaction;
	// on PostgreSQL a replica without the lease commits entries that the
	// holder checkpoints a moment later (or the next holder, if it died).
	if p.Size > l.size || (!l.pg && p.Size != l.size) {
		return nil, fmt.Errorf("didregistry/store: the newest checkpoint has size %d but the log holds %d entries (run tong registry verify)", p.Size, l.size)
	}
	l.latest = p
	if l.stmts, err = prepare(ctx, w, sequencerQueries...); err != nil {
		return nil, fmt.Errorf("didregistry/store: %w", err)
	}
	if l.pg {
		l.lease.init(cfg)
		l.lease.tryAcquire(ctx, w, l.log)
		l.follow = make(chan struct{})
		go l.follower()
	}
	go l.sequence()
	return l, nil
}

// newestCheckpoint reads the checkpoint of the greatest size (zero
// Published when there is none).
func newestCheckpoint(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (Published, error) {
	var p Published
	var root []byte
	err := q.QueryRowContext(ctx, qNewestCheckpoint).Scan(&p.Size, &root, &p.Signed, &p.Fence)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Published{}, nil
	case err != nil:
		return Published{}, err
	}
	if len(root) != tlog.HashSize {
		return Published{}, fmt.Errorf("checkpoint %d has a root of %d bytes", p.Size, len(root))
	}
	copy(p.Root[:], root)
	return p, nil
}

// setLatest publishes p if it is newer than what this replica serves.
func (l *Log) setLatest(p Published) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if p.Size <= l.latest.Size {
		return
	}
	l.latest = p
	close(l.changed)
	l.changed = make(chan struct{})
}

// Leader reports whether this Log holds the sequencer lease (always, on
// SQLite): whether it should gather witness cosignatures.
func (l *Log) Leader() bool {
	if !l.pg {
		return true
	}
	_, ok := l.lease.held()
	return ok
}

// Close stops the sequencer after the batch in flight.
func (l *Log) Close() error {
	l.closed.Do(func() { close(l.stop) })
	<-l.done
	if l.follow != nil {
		<-l.follow
	}
	return nil
}

// Latest is the newest signed checkpoint (Size 0 before the first entry).
func (l *Log) Latest() Published {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.latest
}

// waitCheckpoint waits until a checkpoint includes index, ctx ends or
// CheckpointWait passes, and returns the size of the checkpoint (0 if
// none came).
func (l *Log) waitCheckpoint(ctx context.Context, index int64) int64 {
	timer := time.NewTimer(l.cfg.CheckpointWait)
	defer timer.Stop()
	for {
		l.mu.RLock()
		p, ch := l.latest, l.changed
		l.mu.RUnlock()
		if p.Size > index {
			return p.Size
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return 0
		case <-timer.C:
			return 0
		case <-l.stop:
			return 0
		}
	}
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
	var r result
	select {
	case r = <-p.res:
	case <-l.done:
		select {
		case r = <-p.res:
		default:
			return Receipt{}, ErrClosed
		}
	}
	if r.err == nil && r.receipt.TreeSize == 0 {
		// Committed by a replica without the lease: the holder signs a
		// checkpoint that includes it shortly.
		r.receipt.TreeSize = l.waitCheckpoint(ctx, r.receipt.Index)
	}
	return r.receipt, r.err
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
	qInsertCheckpoint = `INSERT INTO registry_checkpoints (size, root, signed, created, fence) VALUES ($1, $2, $3, $4, $5)`
	qSelectHeadSize   = `SELECT size FROM registry_log_head WHERE id = 1`
	qLockHead         = `SELECT size FROM registry_log_head WHERE id = 1 FOR UPDATE`
	qUpdateHeadSize   = `UPDATE registry_log_head SET size = $1 WHERE id = 1`
	qNewestCheckpoint = `SELECT size, root, signed, fence FROM registry_checkpoints ORDER BY size DESC LIMIT 1`
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

var sequencerQueries = []string{qSelectHead, qSelectRevokedAt, qInsertHash, qInsertEntry, qInsertCheckpoint, qUpsertHead, qSelectIssuerURL, qDeleteIssuerURL, qDeleteIssuerURLs, qInsertIssuerURL, qInsertAccreditation, qRevokeAccreditation, qSelectHash, qUpdateHeadSize}

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
	base := size
	var published Published
	var rows pgRows // PostgreSQL: this batch's rows, written in one statement per table
	err := l.writeTx(ctx, func(sqlTx *sql.Tx) error {
		rows = pgRows{}
		tx := l.stmts.bind(sqlTx)
		hr := &hashReader{ctx: ctx, q: tx, overlay: overlay, cache: l.cache}
		if l.pg {
			// Take the log's head: other replicas' batches wait here, and
			// this one starts where the last of them ended.
			if err := tx.QueryRowContext(ctx, qLockHead).Scan(&size); err != nil {
				return fmt.Errorf("lock the log head: %w", err)
			}
			base = size
			// One round trip for every head the batch needs, rather
			// than one per operation.
			if err := rows.prefetch(ctx, tx, batch); err != nil {
				return fmt.Errorf("read heads: %w", err)
			}
		}
		now := l.cfg.Now()
		for i, p := range batch {
			if p.ctx.Err() != nil {
				results[i].err = p.ctx.Err()
				continue
			}
			head, ok := heads[p.op.DID]
			if !ok && l.pg {
				head = rows.prefetched[p.op.DID]
			} else if !ok {
				h, err := l.loadHead(ctx, tx, p.op.DID)
				if err != nil {
					return err
				}
				head = h
			}
			if head == nil && p.op.Type != didregistry.OpCreate {
				results[i].err = &didregistry.Error{Code: didregistry.CodeNotFound, Description: p.op.DID + " does not exist"}
				continue
			}
			if head != nil && p.op.Type == didregistry.OpCreate {
				results[i].err = &didregistry.Error{Code: didregistry.CodeExists, Description: p.op.DID + " already exists"}
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
					results[i].err = &didregistry.Error{Code: didregistry.CodeNotFound, Description: "no live accreditation " + p.op.Revokes}
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
				if l.pg {
					rows.hashIDs = append(rows.hashIDs, first+int64(k))
					rows.hashes = append(rows.hashes, h[:])
					continue
				}
				if _, err := tx.ExecContext(ctx, qInsertHash, first+int64(k), h[:]); err != nil {
					return err
				}
			}
			if l.pg {
				rows.addEntry(idx, p.op, next.EntryHash, p.leaf)
			} else if _, err := tx.ExecContext(ctx, qInsertEntry,
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
		if size == base {
			return nil // nothing accepted: no checkpoint
		}
		if l.pg {
			if err := rows.write(ctx, tx, heads); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, qUpdateHeadSize, size); err != nil {
			return err
		}
		var fence int64
		if l.pg {
			f, ok, err := l.lease.check(ctx, sqlTx, l.log)
			if err != nil {
				return err
			}
			if !ok {
				return nil // the lease holder checkpoints these entries
			}
			fence = f
		}
		p, err := l.signCheckpoint(ctx, tx, size, hr, now, fence)
		if err != nil {
			return err
		}
		published = p
		return nil
	})
	if err != nil {
		l.log.Error("registry batch failed", slog.Int("ops", len(batch)), slog.Any("err", err))
		for _, p := range batch {
			p.res <- result{err: &didregistry.Error{Code: didregistry.CodeUnavailable, Description: "the registry could not commit", Err: err}}
		}
		clear(l.cache) // it may hold hashes of the rolled-back batch's reads only; reload from disk
		return
	}
	if size > base {
		if len(l.cache)+len(overlay) > maxHashCache {
			clear(l.cache)
		}
		for k, v := range overlay {
			l.cache[k] = v
		}
		l.size = size
	}
	if published.Size > 0 {
		l.setLatest(published)
	}
	if l.pg && size > base {
		// Wake the lease holder (entries to checkpoint) or the followers
		// (a checkpoint to serve) now rather than at their next poll.
		ch := chanAppended
		if published.Size > 0 {
			ch = chanCheckpoint
		}
		if err := l.db.Notifier().Notify(ctx, ch, ""); err != nil {
			l.log.Warn("registry notify", slog.Any("err", err))
		}
	}
	for i, p := range batch {
		if results[i].err == nil {
			results[i].receipt.TreeSize = published.Size
		}
		p.res <- results[i]
	}
}

// writeTx runs a sequencer transaction: on SQLite through the one writer;
// on PostgreSQL READ COMMITTED, where the head row's lock orders the
// batches and each statement after it sees every batch committed before.
func (l *Log) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if !l.pg {
		return l.db.WriteTx(ctx, fn)
	}
	tx, err := l.db.Writer().BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// signCheckpoint signs and stores the checkpoint of size (within the
// transaction that holds the head, and on PostgreSQL the lease).
func (l *Log) signCheckpoint(ctx context.Context, tx *bound, size int64, hr tlog.HashReader, now time.Time, fence int64) (Published, error) {
	root, err := tlog.TreeHash(size, hr)
	if err != nil {
		return Published{}, fmt.Errorf("tree hash: %w", err)
	}
	c := didregistry.Checkpoint{Origin: l.cfg.Origin, Size: size, Hash: root}
	signed, err := note.Sign(&note.Note{Text: string(c.Marshal())}, l.cfg.Signer)
	if err != nil {
		return Published{}, fmt.Errorf("sign checkpoint: %w", err)
	}
	if _, err := tx.ExecContext(ctx, qInsertCheckpoint,
		size, root[:], string(signed), didregistry.FormatTime(now), fence); err != nil {
		return Published{}, err
	}
	return Published{Size: size, Root: root, Signed: signed, Fence: fence}, nil
}

// derive updates the tables derived from the log.
func (l *Log) derive(ctx context.Context, tx *bound, op *didregistry.Operation, next *didregistry.State) error {
	if !l.pg { // on PostgreSQL the batch's heads are written together (pgRows)
		state, err := json.Marshal(next)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, qUpsertHead, next.DID, next.Seq, next.LogIndex, string(state)); err != nil {
			return err
		}
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
		return nil, &didregistry.Error{Code: didregistry.CodeNotFound, Description: did + " is not registered"}
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
		return nil, &didregistry.Error{Code: didregistry.CodeNotFound, Description: did + " is not registered"}
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
		return nil, &didregistry.Error{Code: didregistry.CodeNotFound, Description: fmt.Sprintf("no checkpoint of size %d", size)}
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
		return "", &didregistry.Error{Code: didregistry.CodeNotFound, Description: "the trust authority bound no DID to issuer " + url}
	}
	return d, err
}
