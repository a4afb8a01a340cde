package issuer

import (
	"context"
	"database/sql"
	"sync"
)

// stmts caches prepared statements, so the hot paths do not make SQLite
// parse the same SQL for every request (it was a tenth of the issuance
// flow's CPU). Statements prepared on the writer run inside a write
// transaction through Tx.StmtContext, which reuses them on the one writer
// connection.
type stmts struct {
	mu      sync.Mutex
	m       map[*sql.DB]map[string]*sql.Stmt
	pending map[string]bool
}

// get returns the prepared statement for q on db. Inside a write
// transaction (inTx) the writer's only connection is busy, so preparing
// there would deadlock: get returns nil, the caller runs q unprepared
// this once, and a goroutine prepares it as soon as the connection frees.
func (c *stmts) get(ctx context.Context, db *sql.DB, q string, inTx bool) *sql.Stmt {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[*sql.DB]map[string]*sql.Stmt{}
		c.pending = map[string]bool{}
	}
	if st, ok := c.m[db][q]; ok {
		c.mu.Unlock()
		return st
	}
	if inTx {
		if !c.pending[q] {
			c.pending[q] = true
			go func() { c.prepare(context.Background(), db, q) }()
		}
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	return c.prepare(ctx, db, q)
}

func (c *stmts) prepare(ctx context.Context, db *sql.DB, q string) *sql.Stmt {
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil // the caller runs q unprepared and reports its error
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[db][q]; ok {
		st.Close()
		return old
	}
	if c.m[db] == nil {
		c.m[db] = map[string]*sql.Stmt{}
	}
	c.m[db][q] = st
	return st
}

// execer runs a write: within a transaction (*sql.Tx) or on its own.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// exec runs a prepared write statement on db (a *sql.Tx or the writer).
func (s *Service) exec(ctx context.Context, db execer, q string, args ...any) (sql.Result, error) {
	tx, inTx := db.(*sql.Tx)
	st := s.stmts.get(ctx, s.db.Writer(), q, inTx)
	switch {
	case st == nil:
		return db.ExecContext(ctx, q, args...)
	case inTx:
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return st.ExecContext(ctx, args...)
}

// txRow runs a prepared query inside a write transaction.
func (s *Service) txRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	st := s.stmts.get(ctx, s.db.Writer(), q, true)
	if st == nil {
		return tx.QueryRowContext(ctx, q, args...)
	}
	return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}

// readRow runs a prepared query on the read pool.
func (s *Service) readRow(ctx context.Context, q string, args ...any) *sql.Row {
	st := s.stmts.get(ctx, s.db.Reader(), q, false)
	if st == nil {
		return s.db.Reader().QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
