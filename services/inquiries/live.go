package inquiries

import (
	"context"
	"sync"
)

// NotifyInquiry is the Notifier channel on which the replica that changed
// an inquiry (a proof settled, a reply, an answer, an assignment, a
// close) announces its id.
const NotifyInquiry = "inquiries_inquiry"

// Notifier carries short messages between the replicas that share a
// database; store.Notifier (PostgreSQL's LISTEN/NOTIFY, or in-process on
// SQLite) is one. Delivery is best effort: a message MAY be lost, so
// whoever waits for one also polls.
type Notifier interface {
	// Notify sends payload to channel's subscribers on every replica,
	// this one included.
	Notify(ctx context.Context, channel, payload string) error
	// Subscribe returns a channel of the payloads sent to channel, and a
	// function that ends the subscription.
	Subscribe(channel string) (<-chan string, func())
}

// changed announces an inquiry's change to every replica. A lost message
// costs a waiter one poll, so a failure to send is not the caller's.
func (s *Service) changed(ctx context.Context, id string) {
	_ = s.notes.Notify(context.WithoutCancel(ctx), NotifyInquiry, id)
}

// Changed returns a channel that is closed at the next change of the
// inquiry on any replica that shares the database, and a function to
// stop waiting (call it in any case). The change is carried by the
// Store's Notifier, best effort, so a live page waits on the channel and
// re-reads on a timer as well.
func (s *Service) Changed(id string) (<-chan struct{}, func()) {
	msgs, unsubscribe := s.notes.Subscribe(NotifyInquiry)
	out, done := make(chan struct{}), make(chan struct{})
	go func() {
		for {
			select {
			case got := <-msgs:
				if got == id {
					close(out)
					return
				}
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return out, func() {
		once.Do(func() {
			unsubscribe()
			close(done)
		})
	}
}
