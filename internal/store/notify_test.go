package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/internal/pgtest"
	"github.com/tongid/tong/internal/store"
)

// A message sent through one replica reaches a subscriber on another (on
// SQLite, the one process), on its channel only.
func TestNotifierAcrossReplicas(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		a, b := x.Replicas(t, store.Options{})
		got, stop := b.Notifier().Subscribe("session")
		defer stop()
		other, stopOther := b.Notifier().Subscribe("other")
		defer stopOther()
		if err := a.Notifier().Notify(t.Context(), "session", "s-1:done"); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-got:
			if p != "s-1:done" {
				t.Errorf("payload = %q, want s-1:done", p)
			}
		case <-time.After(30 * time.Second): // a hang guard, not a bound
			t.Fatal("the message never arrived")
		}
		select {
		case p := <-other:
			t.Errorf("channel other got %q, sent to session", p)
		case <-time.After(100 * time.Millisecond):
		}
		stop()
		if err := a.Notifier().Notify(t.Context(), "session", "s-2"); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []struct{ ch, payload string }{{"", "x"}, {"a:b", "x"}, {"ok", strings.Repeat("x", store.MaxNotifyPayload+1)}} {
			var ne interface{ Error() string }
			if err := a.Notifier().Notify(t.Context(), bad.ch, bad.payload); err == nil || !errors.As(err, &ne) {
				t.Errorf("Notify(%q, %d bytes) = %v, want an error", bad.ch, len(bad.payload), err)
			}
		}
	})
}
