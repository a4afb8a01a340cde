package payments

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"time"

	"github.com/tongid/tong/internal/store"
)

// orderStore is where the service keeps orders, attempts and receipts.
// The domain code reaches the database only through it; sqlStore is the
// one implementation.
//
// completePayment MUST mark the order paid and store its receipt in one
// transaction, and only if the order is open, so that when many attempts
// on any number of replicas pay the same order at once exactly one
// succeeds and the others get ErrPaid.
type orderStore interface {
	// createOrder stores an open order created at; errReferenceTaken if
	// another order has its reference.
	createOrder(ctx context.Context, o *Order, at time.Time) error
	// order finds an order by id or reference, with its receipt if paid;
	// ErrNotFound if none.
	order(ctx context.Context, idOrRef string) (*Order, error)
	// openOrders lists up to limit open orders, newest first.
	openOrders(ctx context.Context, limit int) ([]*Order, error)
	// createAttempt stores an attempt at paying a.Order, started at.
	createAttempt(ctx context.Context, a *Attempt, at time.Time) error
	// attempt returns an attempt's order id and verifier session;
	// ErrNotFound if none.
	attempt(ctx context.Context, id string) (orderID, session string, err error)
	// receiptOrder returns the id of the order a receipt is for;
	// ErrNotFound if none.
	receiptOrder(ctx context.Context, receiptID string) (string, error)
	// completePayment marks open order orderID paid with receipt r (r.Attempt
	// names the attempt that paid); ErrPaid if the order is not open.
	completePayment(ctx context.Context, orderID string, r *Receipt) error
	// purgeStale deletes the attempts created before before that paid
	// nothing, and returns how many.
	purgeStale(ctx context.Context, before time.Time) (int64, error)
}

// errReferenceTaken: another order has the reference.
var errReferenceTaken = errors.New("payments: reference exists")

// sqlStore keeps the service's tables in Tong's SQL database (SQLite or
// PostgreSQL), with the schema in migrations/.
type sqlStore struct{ db *store.DB }

var _ orderStore = (*sqlStore)(nil)

// openStore applies the migrations and returns the store.
func openStore(ctx context.Context, db *store.DB) (*sqlStore, error) {
	sub, _ := fs.Sub(migrations, "migrations")
	if _, err := db.Migrate(ctx, Component, sub); err != nil {
		return nil, err
	}
	return &sqlStore{db: db}, nil
}

func (s *sqlStore) createOrder(ctx context.Context, o *Order, at time.Time) error {
	_, err := s.db.Writer().ExecContext(ctx, `INSERT INTO payments_orders (id, reference, agency, description, amount_fen, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		o.ID, o.Reference, o.Agency, o.Description, o.AmountFen, StatusOpen, at.Unix())
	if store.IsUniqueViolation(err) {
		return errReferenceTaken
	}
	return err
}

func (s *sqlStore) order(ctx context.Context, idOrRef string) (*Order, error) {
	var o Order
	err := s.db.Reader().QueryRowContext(ctx, `SELECT id, reference, agency, description, amount_fen, status, session FROM payments_orders WHERE id = $1 OR reference = $1`, idOrRef).
		Scan(&o.ID, &o.Reference, &o.Agency, &o.Description, &o.AmountFen, &o.Status, &o.Session)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var r Receipt
	var paid int64
	err = s.db.Reader().QueryRowContext(ctx, `SELECT id, payer_ref, payer_name, paid_at, jwt, attempt FROM payments_receipts WHERE order_id = $1`, o.ID).
		Scan(&r.ID, &r.PayerRef, &r.PayerName, &paid, &r.JWT, &r.Attempt)
	if err == nil {
		r.PaidAt = time.Unix(paid, 0)
		o.Receipt = &r
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	return &o, nil
}

func (s *sqlStore) openOrders(ctx context.Context, limit int) ([]*Order, error) {
	ids, err := store.Strings(ctx, s.db.Reader(), `SELECT id FROM payments_orders WHERE status = $1 ORDER BY created_at DESC, id LIMIT $2`, StatusOpen, limit)
	if err != nil {
		return nil, err
	}
	var out []*Order
	for _, id := range ids {
		o, err := s.order(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func (s *sqlStore) createAttempt(ctx context.Context, a *Attempt, at time.Time) error {
	_, err := s.db.Writer().ExecContext(ctx, `INSERT INTO payments_attempts (id, order_id, session, created_at) VALUES ($1, $2, $3, $4)`,
		a.ID, a.Order.ID, a.Session, at.Unix())
	return err
}

func (s *sqlStore) attempt(ctx context.Context, id string) (string, string, error) {
	var orderID, session string
	err := s.db.Reader().QueryRowContext(ctx, `SELECT order_id, session FROM payments_attempts WHERE id = $1`, id).Scan(&orderID, &session)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", ErrNotFound
	}
	return orderID, session, err
}

func (s *sqlStore) receiptOrder(ctx context.Context, receiptID string) (string, error) {
	var orderID string
	err := s.db.Reader().QueryRowContext(ctx, `SELECT order_id FROM payments_receipts WHERE id = $1`, receiptID).Scan(&orderID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return orderID, err
}

// completePayment flips the order from open to paid and inserts the
// receipt in one transaction (SERIALIZABLE on PostgreSQL, retried on
// conflict, where a retry then finds the order paid).
func (s *sqlStore) completePayment(ctx context.Context, orderID string, r *Receipt) error {
	return s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE payments_orders SET status = $1 WHERE id = $2 AND status = $3`, StatusPaid, orderID, StatusOpen)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrPaid
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO payments_receipts (id, order_id, payer_ref, payer_name, paid_at, jwt, attempt) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			r.ID, orderID, r.PayerRef, r.PayerName, r.PaidAt.Unix(), r.JWT, r.Attempt)
		return err
	})
}

func (s *sqlStore) purgeStale(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.Writer().ExecContext(ctx, `DELETE FROM payments_attempts WHERE created_at < $1
		AND id NOT IN (SELECT attempt FROM payments_receipts)`, before.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
