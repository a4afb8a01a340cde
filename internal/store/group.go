package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// MaxGroup is the most callers GroupTx puts in one transaction.
const MaxGroup = 256

// ErrClosed is returned by GroupTx after Close.
var ErrClosed = errors.New("store: database is closed")

type groupReq struct {
	ctx  context.Context
	fn   func(tx *sql.Tx) error
	done chan error
}

type group struct {
	mu      sync.RWMutex
	started bool
	closed  bool
	ch      chan *groupReq
	stop    chan struct{}
	wg      sync.WaitGroup
	sp      *savepoints // owned by the loop goroutine
}

// GroupTx runs fn inside a write transaction that it may share with other
// concurrent GroupTx callers (group commit): one commit, and so one fsync,
// serves up to MaxGroup callers. Each fn runs inside its own SAVEPOINT, so a
// fn that returns an error is rolled back alone and gets its error back,
// while the others commit. When GroupTx returns nil, fn's writes are
// committed and durable, as with WriteTx.
//
// fn must not keep tx, and should be short: the callers grouped with it
// wait for it. Expensive work (signatures) belongs before or after.
//
// On PostgreSQL, where many connections commit in parallel and the
// server groups their WAL flushes itself, GroupTx is WriteTx: fn runs in
// a SERIALIZABLE transaction of its own, and MAY run more than once (see
// WriteTx).
func (db *DB) GroupTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.engine == PostgreSQL {
		return db.WriteTx(ctx, fn)
	}
	g := &db.group
	if err := g.start(db); err != nil {
		return err
	}
	req := &groupReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return ErrClosed
	}
	select {
	case g.ch <- req:
	case <-ctx.Done():
		g.mu.RUnlock()
		return ctx.Err()
	}
	g.mu.RUnlock()
	// Once queued, the request may commit: wait for its outcome even if
	// ctx ends, so the caller never reports failure for a durable write.
	return <-req.done
}

func (db *DB) groupLoop() {
	g := &db.group
	defer g.wg.Done()
	batch := make([]*groupReq, 0, MaxGroup)
	for {
		select {
		case <-g.stop:
			// Fail whatever is still queued.
			for {
				select {
				case req := <-g.ch:
					req.done <- ErrClosed
				default:
					return
				}
			}
		case req := <-g.ch:
			batch = append(batch[:0], req)
		drain:
			for len(batch) < MaxGroup {
				select {
				case r := <-g.ch:
					batch = append(batch, r)
				default:
					break drain
				}
			}
			db.runGroup(batch)
		}
	}
}

// savepoints are the three statements each grouped caller runs, prepared
// once: one name serves every caller, since each is released before the
// next begins.
type savepoints struct{ begin, rollback, release *sql.Stmt }

func (db *DB) prepareSavepoints() (*savepoints, error) {
	var sp savepoints
	var err error
	for _, x := range []struct {
		dst **sql.Stmt
		q   string
	}{{&sp.begin, "SAVEPOINT g"}, {&sp.rollback, "ROLLBACK TO SAVEPOINT g"}, {&sp.release, "RELEASE SAVEPOINT g"}} {
		if *x.dst, err = db.write.Prepare(x.q); err != nil {
			return nil, err
		}
	}
	return &sp, nil
}

func (db *DB) runGroup(batch []*groupReq) {
	results := make([]error, len(batch))
	err := func() error {
		if db.group.sp == nil {
			sp, err := db.prepareSavepoints()
			if err != nil {
				return fmt.Errorf("store: prepare savepoints: %w", err)
			}
			db.group.sp = sp
		}
		sp := db.group.sp
		tx, err := db.write.BeginTx(context.Background(), nil)
		if err != nil {
			return fmt.Errorf("store: begin: %w", err)
		}
		begin, rollback, release := tx.Stmt(sp.begin), tx.Stmt(sp.rollback), tx.Stmt(sp.release)
		for i, req := range batch {
			if err := req.ctx.Err(); err != nil {
				results[i] = err
				continue
			}
			if _, err := begin.Exec(); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("store: savepoint: %w", err)
			}
			if err := req.fn(tx); err != nil {
				results[i] = err
				if _, rerr := rollback.Exec(); rerr != nil {
					_ = tx.Rollback()
					return fmt.Errorf("store: rollback to savepoint: %w", rerr)
				}
			}
			if _, err := release.Exec(); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("store: release savepoint: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: commit: %w", err)
		}
		return nil
	}()
	for i, req := range batch {
		if err != nil {
			// The transaction as a whole failed: nobody's writes stand.
			req.done <- err
			continue
		}
		req.done <- results[i]
	}
}

func (g *group) start(db *DB) error {
	g.mu.RLock()
	started, closed := g.started, g.closed
	g.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	if started {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	if !g.started {
		g.ch = make(chan *groupReq, MaxGroup)
		g.stop = make(chan struct{})
		g.started = true
		g.wg.Add(1)
		go db.groupLoop()
	}
	return nil
}

// close stops the loop; requests already queued fail with ErrClosed or
// finish, and none is left waiting.
func (g *group) close() {
	g.mu.Lock()
	wasOpen := g.started && !g.closed
	g.closed = true
	g.mu.Unlock()
	if wasOpen {
		close(g.stop)
		g.wg.Wait()
	}
}
