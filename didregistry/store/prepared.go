package store

import (
	"context"
	"database/sql"
)

// prepared holds statements prepared once on the writer connection.
// modernc.org/sqlite compiles a statement again on every unprepared call,
// which was about a quarter of the sequencer's time.
type prepared map[string]*sql.Stmt

func prepare(ctx context.Context, db *sql.DB, queries ...string) (prepared, error) {
	p := make(prepared, len(queries))
	for _, q := range queries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			p.close()
			return nil, err
		}
		p[q] = st
	}
	return p, nil
}

func (p prepared) close() {
	for _, st := range p {
		st.Close()
	}
}

// bind returns p bound to tx.
func (p prepared) bind(tx *sql.Tx) *bound {
	return &bound{tx: tx, p: p, stmts: make(map[string]*sql.Stmt, len(p))}
}

// bound runs queries in one transaction, through the prepared statement
// when there is one.
type bound struct {
	tx    *sql.Tx
	p     prepared
	stmts map[string]*sql.Stmt
}

func (b *bound) stmt(ctx context.Context, q string) *sql.Stmt {
	if st, ok := b.stmts[q]; ok {
		return st
	}
	ps, ok := b.p[q]
	if !ok {
		return nil
	}
	st := b.tx.StmtContext(ctx, ps)
	b.stmts[q] = st
	return st
}

func (b *bound) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := b.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return b.tx.ExecContext(ctx, q, args...)
}

func (b *bound) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := b.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return b.tx.QueryRowContext(ctx, q, args...)
}
