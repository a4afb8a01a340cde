package payments

import (
	"context"
	"time"

	"github.com/tongid/tong/verifier"
)

// NotifyOrder is the store.Notifier channel on which the replica that
// paid an order announces its id, so that the live pages of the order's
// attempts held by other replicas wake at once.
const NotifyOrder = "payments_order"

// DefaultPoll is Config.Poll's default.
const DefaultPoll = time.Second

// Wait blocks until attempt id is settled (paid, or failed with a
// reason), or ctx ends, and returns it as Settle does. It wakes when a
// replica announces that the order was paid (NotifyOrder) or that the
// attempt's verifier session was answered (verifier.NotifySession), on
// PostgreSQL through LISTEN/NOTIFY, and otherwise re-reads every
// Config.Poll.
func (s *Service) Wait(ctx context.Context, id string) (*Attempt, string, error) {
	paid, stopPaid := s.cfg.DB.Notifier().Subscribe(NotifyOrder)
	defer stopPaid()
	answers, stopAnswers := s.cfg.DB.Notifier().Subscribe(verifier.NotifySession)
	defer stopAnswers()
	tick := time.NewTicker(s.cfg.Poll)
	defer tick.Stop()
	for {
		a, reason, err := s.Settle(ctx, id)
		if err != nil || a.Order.Receipt != nil || reason != "" {
			return a, reason, err
		}
	wait:
		for {
			select {
			case <-ctx.Done():
				return a, reason, nil
			case order := <-paid:
				if order == a.Order.ID {
					break wait
				}
			case session := <-answers:
				if session == a.Session {
					break wait
				}
			case <-tick.C:
				break wait
			}
		}
	}
}
