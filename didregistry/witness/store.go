package witness

import (
	"context"
	"database/sql"
	"errors"
	"time"

	istore "github.com/tongid/tong/internal/store"
)

// cosigned is what the witness keeps per log: the size and root of the
// newest checkpoint it cosigned (size 0 and no root before the first).
type cosigned struct {
	size int64
	root []byte
}

// stateStore keeps each log's cosigned state. advance is a
// compare-and-swap: in one write transaction it reads origin's state,
// asks decide whether next may follow it, and records next only if so.
// Two replicas of a witness on one database therefore never both move
// a log on from the same state to different checkpoints.
type stateStore interface {
	advance(ctx context.Context, origin string, next cosigned, decide func(last cosigned) bool) error
}

// sqlState is the stateStore on the witness_logs table.
type sqlState struct{ db *istore.DB }

func (s sqlState) advance(ctx context.Context, origin string, next cosigned, decide func(last cosigned) bool) error {
	return s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		var last cosigned
		err := tx.QueryRowContext(ctx, `SELECT size, root FROM witness_logs WHERE origin = $1`, origin).Scan(&last.size, &last.root)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if !decide(last) {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO witness_logs (origin, size, root, updated) VALUES ($1, $2, $3, $4)
			ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, updated = excluded.updated`,
			origin, next.size, next.root, time.Now().UTC().Format(time.RFC3339))
		return err
	})
}
