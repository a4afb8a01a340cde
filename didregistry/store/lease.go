package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Notifier channels between replicas (store.Notifier): entries appended
// without a checkpoint, and a new checkpoint published.
const (
	chanAppended   = "registry_appended"
	chanCheckpoint = "registry_checkpoint"
)

// nowMS is the database's clock in milliseconds: lease expiries are
// compared on one clock, whatever the replicas' own clocks say.
const nowMS = `(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT`

const (
	qAcquireLease = `UPDATE registry_lease SET holder = $1, fence = fence + 1, expires_ms = ` + nowMS + ` + $2
		WHERE id = 1 AND expires_ms <= ` + nowMS + ` RETURNING fence`
	qRenewLease = `UPDATE registry_lease SET expires_ms = ` + nowMS + ` + $3
		WHERE id = 1 AND holder = $1 AND fence = $2 AND expires_ms > ` + nowMS + ` RETURNING fence`
	qReleaseLease = `UPDATE registry_lease SET expires_ms = 0 WHERE id = 1 AND holder = $1 AND fence = $2`
	// qCheckLease runs in a publishing transaction: FOR SHARE keeps a
	// taker's UPDATE waiting until the transaction ends.
	qCheckLease = `SELECT fence FROM registry_lease
		WHERE id = 1 AND holder = $1 AND fence = $2 AND expires_ms > ` + nowMS + ` FOR SHARE`
)

// lease is this replica's view of the sequencer lease. The database's
// row is the truth; this view only saves asking when we know we do not
// hold it, and bounds how long we believe we do.
type lease struct {
	holder     string
	ttl, renew time.Duration

	mu       sync.Mutex
	fence    int64     // 0: not held
	deadline time.Time // local clock: when our belief runs out
}

func randomHolder() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

func (le *lease) init(cfg Config) {
	le.holder, le.ttl, le.renew = cfg.Holder, cfg.LeaseTTL, cfg.LeaseRenew
}

// held returns the fence while we believe we hold the lease.
func (le *lease) held() (int64, bool) {
	le.mu.Lock()
	defer le.mu.Unlock()
	if le.fence == 0 || time.Now().After(le.deadline) {
		return 0, false
	}
	return le.fence, true
}

func (le *lease) set(fence int64, start time.Time) {
	le.mu.Lock()
	defer le.mu.Unlock()
	le.fence = fence
	// Believe it a little less long than the database will: the renewal
	// started at start, so the row's expiry is later than start+ttl.
	le.deadline = start.Add(le.ttl - le.renew/2)
}

func (le *lease) lost() {
	le.mu.Lock()
	defer le.mu.Unlock()
	le.fence = 0
}

// tryAcquire renews the lease if we hold it, else takes it if it has
// expired. It reports whether we hold it afterwards.
func (le *lease) tryAcquire(ctx context.Context, db *sql.DB, log *slog.Logger) bool {
	start := time.Now()
	ttl := le.ttl.Milliseconds()
	le.mu.Lock()
	fence := le.fence
	le.mu.Unlock()
	if fence != 0 {
		var f int64
		err := db.QueryRowContext(ctx, qRenewLease, le.holder, fence, ttl).Scan(&f)
		switch {
		case err == nil:
			le.set(f, start)
			return true
		case errors.Is(err, sql.ErrNoRows):
			log.Warn("registry sequencer lease lost", slog.String("holder", le.holder), slog.Int64("fence", fence))
			le.lost()
		default:
			// We cannot tell; the database's row decides at publishing.
			log.Warn("registry sequencer lease: renew failed", slog.Any("err", err))
			return false
		}
	}
	var f int64
	err := db.QueryRowContext(ctx, qAcquireLease, le.holder, ttl).Scan(&f)
	switch {
	case err == nil:
		le.set(f, start)
		log.Info("registry sequencer lease taken", slog.String("holder", le.holder), slog.Int64("fence", f))
		return true
	case errors.Is(err, sql.ErrNoRows):
		return false // another replica holds it
	default:
		log.Warn("registry sequencer lease: acquire failed", slog.Any("err", err))
		return false
	}
}

// check confirms, inside a publishing transaction, that we still hold the
// lease, and returns its fence.
func (le *lease) check(ctx context.Context, tx *sql.Tx, log *slog.Logger) (int64, bool, error) {
	fence, ok := le.held()
	if !ok {
		return 0, false, nil
	}
	var f int64
	err := tx.QueryRowContext(ctx, qCheckLease, le.holder, fence).Scan(&f)
	if errors.Is(err, sql.ErrNoRows) {
		log.Warn("registry sequencer lease lost; not publishing", slog.String("holder", le.holder), slog.Int64("fence", fence))
		le.lost()
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("check the sequencer lease: %w", err)
	}
	return f, true, nil
}

// release gives the lease up, so another replica takes it at once.
func (le *lease) release(ctx context.Context, db *sql.DB) {
	le.mu.Lock()
	fence := le.fence
	le.fence = 0
	le.mu.Unlock()
	if fence != 0 {
		_, _ = db.ExecContext(ctx, qReleaseLease, le.holder, fence)
	}
}

// follower runs on PostgreSQL: it keeps the lease (renewing or taking
// it), serves newer checkpoints that other replicas published, and, while
// it holds the lease, checkpoints entries that other replicas appended.
func (l *Log) follower() {
	defer close(l.follow)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := l.db.Writer()
	poll := time.NewTicker(l.cfg.Poll)
	defer poll.Stop()
	appended, stopA := l.db.Notifier().Subscribe(chanAppended)
	defer stopA()
	checkpointed, stopC := l.db.Notifier().Subscribe(chanCheckpoint)
	defer stopC()
	refresh := func() {
		if p, err := newestCheckpoint(ctx, l.db.Reader()); err == nil {
			l.setLatest(p)
		}
	}
	checkpoint := func() {
		if _, ok := l.lease.held(); ok {
			if err := l.checkpointOthers(ctx); err != nil {
				l.log.Warn("registry checkpoint", slog.Any("err", err))
			}
		}
	}
	renew := time.NewTicker(l.cfg.LeaseRenew)
	defer renew.Stop()
	for {
		select {
		case <-l.stop:
			<-l.done // the sequencer's last batch has committed
			rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
			l.lease.release(rctx, w)
			rcancel()
			return
		case <-renew.C:
			l.lease.tryAcquire(ctx, w, l.log)
		case <-appended:
			checkpoint()
		case <-checkpointed:
			refresh()
		case <-poll.C:
			refresh()
			checkpoint()
		}
	}
}

// checkpointOthers signs a checkpoint for entries that have none yet
// (appended by replicas without the lease), under the head's lock and the
// lease's check.
func (l *Log) checkpointOthers(ctx context.Context) error {
	var size int64
	if err := l.db.Reader().QueryRowContext(ctx, qSelectHeadSize).Scan(&size); err != nil {
		return err
	}
	if size <= l.Latest().Size {
		return nil
	}
	var published Published
	err := l.writeTx(ctx, func(sqlTx *sql.Tx) error {
		tx := &bound{tx: sqlTx}
		if err := tx.QueryRowContext(ctx, qLockHead).Scan(&size); err != nil {
			return err
		}
		newest, err := newestCheckpoint(ctx, tx)
		if err != nil {
			return err
		}
		if size <= newest.Size {
			published = newest
			return nil
		}
		fence, ok, err := l.lease.check(ctx, sqlTx, l.log)
		if err != nil || !ok {
			return err
		}
		hr := &hashReader{ctx: ctx, q: tx}
		published, err = l.signCheckpoint(ctx, tx, size, hr, l.cfg.Now(), fence)
		return err
	})
	if err != nil {
		return err
	}
	if published.Size > l.Latest().Size {
		if err := l.db.Notifier().Notify(ctx, chanCheckpoint, ""); err != nil {
			l.log.Warn("registry notify", slog.Any("err", err))
		}
	}
	l.setLatest(published)
	return nil
}
