package store

import (
	"context"
	"strings"
	"sync"
)

// MaxNotifyPayload is the longest payload Notify carries (PostgreSQL's
// NOTIFY limit is 8000 bytes; we keep a margin for the channel name).
const MaxNotifyPayload = 7000

// Notifier carries short messages between the replicas on one database:
// in-process on SQLite (one process owns the file), through PostgreSQL's
// LISTEN/NOTIFY on PostgreSQL. Delivery is best effort: a subscriber that
// falls behind, or a replica whose listening connection dropped, misses
// messages, so every user also polls the database, and messages only
// make it see a change sooner.
type Notifier interface {
	// Notify sends payload to channel's subscribers on every replica,
	// this one included.
	Notify(ctx context.Context, channel, payload string) error
	// Subscribe returns a channel of the payloads sent to channel, and a
	// function that ends the subscription.
	Subscribe(channel string) (<-chan string, func())
}

// Notifier is the database's notifier.
func (db *DB) Notifier() Notifier { return db.notifier }

// Hub fans messages out to in-process subscribers; engine notifiers
// deliver what they receive through one.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[chan string]struct{}
}

// Subscribe implements Notifier.
func (h *Hub) Subscribe(channel string) (<-chan string, func()) {
	ch := make(chan string, 64)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[string]map[chan string]struct{}{}
	}
	if h.subs[channel] == nil {
		h.subs[channel] = map[chan string]struct{}{}
	}
	h.subs[channel][ch] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs[channel], ch)
			h.mu.Unlock()
		})
	}
}

// Deliver hands payload to channel's subscribers, dropping it for those
// whose buffer is full.
func (h *Hub) Deliver(channel, payload string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[channel] {
		select {
		case ch <- payload:
		default:
		}
	}
}

// localNotifier is the SQLite notifier: one process, so a Hub suffices.
type localNotifier struct{ Hub }

func (n *localNotifier) Notify(_ context.Context, channel, payload string) error {
	if err := CheckNotify(channel, payload); err != nil {
		return err
	}
	n.Deliver(channel, payload)
	return nil
}

type notifyError string

func (e notifyError) Error() string { return string(e) }

// CheckNotify reports whether channel and payload are acceptable to Notify.
func CheckNotify(channel, payload string) error {
	switch {
	case channel == "" || strings.ContainsAny(channel, ": \x00"):
		return notifyError("store: notify channel names are non-empty, without ':', spaces or NUL")
	case len(payload) > MaxNotifyPayload || strings.ContainsRune(payload, 0):
		return notifyError("store: notify payloads are at most 7000 bytes, without NUL")
	}
	return nil
}
