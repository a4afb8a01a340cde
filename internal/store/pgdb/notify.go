package pgdb

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tongid/tong/internal/store"
)

// pgChannel is the one PostgreSQL channel Tong listens on; a message's
// payload is "<channel>:<payload>". One LISTEN, made when the connection
// opens, serves every subscription, so a new subscriber never has to
// interrupt the connection's wait.
const pgChannel = "tong"

// notifier implements store.Notifier with LISTEN/NOTIFY: NOTIFY through
// the pool, LISTEN on a dedicated connection that reconnects after
// errors (messages sent while it is down are lost; subscribers poll).
type notifier struct {
	store.Hub
	pool   *sql.DB
	cfg    *pgx.ConnConfig
	cancel context.CancelFunc
	done   chan struct{}
	ready  chan struct{} // closed once the first LISTEN is in place
}

func newNotifier(pool *sql.DB, cfg *pgx.ConnConfig) *notifier {
	ctx, cancel := context.WithCancel(context.Background())
	n := &notifier{pool: pool, cfg: cfg.Copy(), cancel: cancel, done: make(chan struct{}), ready: make(chan struct{})}
	go n.listen(ctx)
	return n
}

// Notify implements store.Notifier.
func (n *notifier) Notify(ctx context.Context, channel, payload string) error {
	if err := store.CheckNotify(channel, payload); err != nil {
		return err
	}
	_, err := n.pool.ExecContext(ctx, `SELECT pg_notify($1, $2)`, pgChannel, channel+":"+payload)
	return err
}

// waitReady waits until the listening connection is up (or ctx ends).
func (n *notifier) waitReady(ctx context.Context) {
	select {
	case <-n.ready:
	case <-ctx.Done():
	}
}

func (n *notifier) listen(ctx context.Context) {
	defer close(n.done)
	var once sync.Once
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, n.cfg)
		if err == nil {
			if _, err = conn.Exec(ctx, "LISTEN "+pgChannel); err == nil {
				once.Do(func() { close(n.ready) })
				backoff = 100 * time.Millisecond
				for {
					nt, werr := conn.WaitForNotification(ctx)
					if werr != nil {
						break
					}
					if ch, payload, ok := strings.Cut(nt.Payload, ":"); ok {
						n.Deliver(ch, payload)
					}
				}
			}
			conn.Close(context.Background())
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
			backoff = min(2*backoff, 5*time.Second)
		}
	}
}

// Close stops listening.
func (n *notifier) Close() error {
	n.cancel()
	<-n.done
	return nil
}
