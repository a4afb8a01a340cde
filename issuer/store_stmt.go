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
