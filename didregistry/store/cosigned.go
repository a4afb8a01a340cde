package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tongid/tong/didregistry"
)

const (
	qPutCosigned = `INSERT INTO registry_cosigned (size, signed, created) VALUES ($1, $2, $3)
		ON CONFLICT (size) DO UPDATE SET signed = excluded.signed, created = excluded.created`
	qNewestCosigned = `SELECT size, signed FROM registry_cosigned ORDER BY size DESC LIMIT 1`
)

// PutCosigned keeps the checkpoint of size with the witnesses'
// cosignatures (a signed note with the log's signature and theirs), so
// that every replica serves it. The lease holder gathers them; see
// Leader.
func (l *Log) PutCosigned(ctx context.Context, size int64, signed []byte) error {
	if size <= 0 || len(signed) == 0 {
		return errors.New("didregistry/store: PutCosigned needs a size and a note")
	}
	if _, err := l.db.Writer().ExecContext(ctx, qPutCosigned, size, string(signed), didregistry.FormatTime(l.cfg.Now())); err != nil {
		return fmt.Errorf("didregistry/store: keep cosigned checkpoint %d: %w", size, err)
	}
	return nil
}

// Cosigned returns the newest cosigned checkpoint and its size (0 and
// nil when there is none).
func (l *Log) Cosigned(ctx context.Context) (int64, []byte, error) {
	var size int64
	var signed string
	err := l.db.Reader().QueryRowContext(ctx, qNewestCosigned).Scan(&size, &signed)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, err
	}
	return size, []byte(signed), nil
}
