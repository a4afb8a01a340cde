package meetings

import (
	"context"
	"time"

	"github.com/tongid/tong/verifier"
)

// NotifyBooking is the store.Notifier channel on which the replica that
// changed a booking (settled, cancelled, checked in) announces its id, so
// that a citizen's live page held by another replica wakes at once.
const NotifyBooking = "meetings_booking"

// DefaultPoll is Config.Poll's default.
const DefaultPoll = time.Second

// changed announces a booking's change to every replica. Delivery is best
// effort (see store.Notifier): a lost message costs a waiter one Poll.
func (s *Service) changed(ctx context.Context, id string) {
	_ = s.cfg.DB.Notifier().Notify(context.WithoutCancel(ctx), NotifyBooking, id)
}

// Wait blocks until booking id is no longer verifying, or ctx ends, and
// returns it as Settle does. It wakes when a replica announces the
// booking's change (NotifyBooking) or its verifier session's answer
// (verifier.NotifySession), on PostgreSQL through LISTEN/NOTIFY, and
// otherwise re-reads every Config.Poll.
func (s *Service) Wait(ctx context.Context, id string) (*Booking, error) {
	var b *Booking
	err := s.wait(ctx, func(ctx context.Context) (string, string, bool, error) {
		var err error
		if b, err = s.Settle(ctx, id); err != nil {
			return "", "", true, err
		}
		return b.ID, b.Session, b.Status != StatusVerifying, nil
	})
	return b, err
}

// WaitCheckIn blocks until the check-in of booking number is no longer
// pending, or ctx ends, and returns it as SettleCheckIn does; it wakes as
// Wait does.
func (s *Service) WaitCheckIn(ctx context.Context, number string) (*CheckInResult, error) {
	var res *CheckInResult
	err := s.wait(ctx, func(ctx context.Context) (string, string, bool, error) {
		var err error
		if res, err = s.SettleCheckIn(ctx, number); err != nil {
			return "", "", true, err
		}
		return res.Booking.ID, res.Booking.CheckIn, !res.Pending, nil
	})
	return res, err
}

// wait calls settle until it reports done, ctx ends or settle fails;
// between calls it waits for a notification naming the booking or the
// verifier session that settle last returned.
func (s *Service) wait(ctx context.Context, settle func(context.Context) (booking, session string, done bool, err error)) error {
	mine, stopMine := s.cfg.DB.Notifier().Subscribe(NotifyBooking)
	defer stopMine()
	answers, stopAnswers := s.cfg.DB.Notifier().Subscribe(verifier.NotifySession)
	defer stopAnswers()
	tick := time.NewTicker(s.cfg.Poll)
	defer tick.Stop()
	for {
		booking, session, done, err := settle(ctx)
		if done || err != nil {
			return err
		}
	wait:
		for {
			select {
			case <-ctx.Done():
				return nil
			case id := <-mine:
				if id == booking {
					break wait
				}
			case id := <-answers:
				if id == session {
					break wait
				}
			case <-tick.C:
				break wait
			}
		}
	}
}
