package meetings_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongid/tong/services/meetings"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
)

func newService(t *testing.T, c *tongtest.City) *meetings.Service {
	t.Helper()
	ctx := context.Background()
	book, err := c.Verifier.Authenticate(ctx, c.CounterTokens["meeting-booking"])
	if err != nil {
		t.Fatal(err)
	}
	check, _ := c.Verifier.Authenticate(ctx, c.CounterTokens["meeting-checkin"])
	s, err := meetings.New(ctx, meetings.Config{DB: c.DB, Verifier: c.Verifier, Booking: book, CheckIn: check, Secret: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBookCheckInCancel(t *testing.T) {
	c := tongtest.New(t, tongtest.Options{})
	s := newService(t, c)
	ctx := context.Background()
	off, err := s.AddOfficial(ctx, meetings.Official{Name: "张主任", Title: "Director", Agency: "Dongcheng District"})
	if err != nil {
		t.Fatal(err)
	}
	slot, err := s.Publish(ctx, off.ID, time.Now().Add(24*time.Hour), 30, "Room 3", "Housing subsidy")
	if err != nil {
		t.Fatal(err)
	}
	w := c.Citizen(t, nil)
	b, sess, err := s.Book(ctx, slot.ID)
	if err != nil {
		t.Fatal(err)
	}
	// A second start while the first is verifying holds nothing either.
	rival, rivalSess, err := s.Book(ctx, slot.ID)
	if err != nil {
		t.Fatalf("second booking start while the first is verifying: %v", err)
	}
	if err := tongtest.Answer(t, w, sess.RequestURI); err != nil {
		t.Fatal(err)
	}
	b, err = s.Settle(ctx, b.ID)
	if err != nil || b.Status != meetings.StatusBooked || !strings.HasPrefix(b.Number, "BK-") || !strings.HasPrefix(b.CitizenRef, "C-") {
		t.Fatalf("booking %+v %v", b, err)
	}
	if strings.Contains(b.CitizenRef, "110101") {
		t.Fatal("the booking stores an ID number")
	}
	if _, _, err := s.Book(ctx, slot.ID); err != meetings.ErrTaken {
		t.Fatalf("booking a booked slot: %v", err)
	}
	// The rival answers after the slot was taken: slot_taken.
	if err := tongtest.Answer(t, c.Citizen(t, nil), rivalSess.RequestURI); err != nil {
		t.Fatal(err)
	}
	if rb, err := s.Settle(ctx, rival.ID); err != nil || rb.Status != meetings.StatusFailed || rb.Reason != meetings.ReasonSlotTaken {
		t.Fatalf("the later verified booking: %+v %v", rb, err)
	}
	day, _ := s.Day(ctx, off.ID, slot.StartsAt)
	if len(day) != 1 || day[0].Number != b.Number {
		t.Fatalf("the official's day: %+v", day)
	}

	// Someone else cannot check in on this booking.
	other := c.Citizen(t, func(typ string, m map[string]any) {
		if typ == "citizen-identity" {
			m["given_name"] = "小红"
		}
	})
	_, ci, err := s.StartCheckIn(ctx, b.Number)
	if err != nil {
		t.Fatal(err)
	}
	_ = tongtest.Answer(t, other, ci.RequestURI)
	if r, err := s.SettleCheckIn(ctx, b.Number); err != nil || r.OK || r.Reason != "different_citizen" {
		t.Fatalf("check-in by another citizen: %+v %v", r, err)
	}
	// The citizen who booked can. A second start (anyone can type the
	// number) keeps the check-in that waits for them.
	_, ci, _ = s.StartCheckIn(ctx, b.Number)
	if _, again, err := s.StartCheckIn(ctx, b.Number); err != nil || again.ID != ci.ID {
		t.Fatalf("a second check-in start replaced the pending one: %v", err)
	}
	if err := tongtest.Answer(t, w, ci.RequestURI); err != nil {
		t.Fatal(err)
	}
	if r, err := s.SettleCheckIn(ctx, b.Number); err != nil || !r.OK || r.Booking.Status != meetings.StatusCheckedIn {
		t.Fatalf("check-in: %+v %v", r, err)
	}

	// Book another slot, then cancel it; it is free again.
	slot2, _ := s.Publish(ctx, off.ID, time.Now().Add(48*time.Hour), 30, "Room 3", "Housing subsidy")
	b2, sess2, _ := s.Book(ctx, slot2.ID)
	_ = tongtest.Answer(t, w, sess2.RequestURI)
	key := b2.CancelKey
	b2, _ = s.Settle(ctx, b2.ID)
	for _, bad := range [][2]string{{b2.Number, key}, {b2.ID, ""}, {b2.ID, b2.Number}, {b2.ID, key[1:]}} {
		if err := s.Cancel(ctx, bad[0], bad[1]); err != meetings.ErrCancelDenied {
			t.Fatalf("Cancel(%q, %q) = %v, want ErrCancelDenied", bad[0], bad[1], err)
		}
	}
	if err := s.Cancel(ctx, b2.ID, key); err != nil {
		t.Fatal(err)
	}
	if err := s.Cancel(ctx, b2.ID, key); err != meetings.ErrNotBooked {
		t.Fatalf("second cancel: %v", err)
	}
	if _, _, err := s.Book(ctx, slot2.ID); err != nil {
		t.Fatalf("the cancelled slot is not free: %v", err)
	}
}

// TestStaleBookingsArePurged: anyone may start a booking, so bookings that
// never became one are deleted a day later (with their verifier sessions);
// real bookings stay.
func TestStaleBookingsArePurged(t *testing.T) {
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	c := tongtest.New(t, tongtest.Options{VerifierConfig: func(cfg *verifier.Config) { cfg.Now = now }})
	ctx := context.Background()
	book, _ := c.Verifier.Authenticate(ctx, c.CounterTokens["meeting-booking"])
	check, _ := c.Verifier.Authenticate(ctx, c.CounterTokens["meeting-checkin"])
	s, err := meetings.New(ctx, meetings.Config{DB: c.DB, Verifier: c.Verifier, Booking: book, CheckIn: check, Secret: make([]byte, 32), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	off, _ := s.AddOfficial(ctx, meetings.Official{Name: "张主任", Agency: "Dongcheng District"})
	slot, _ := s.Publish(ctx, off.ID, clock.Add(72*time.Hour), 30, "Room 3", "Housing subsidy")
	stale, _, err := s.Book(ctx, slot.ID)
	if err != nil {
		t.Fatal(err)
	}
	real, sess, _ := s.Book(ctx, slot.ID)
	if err := tongtest.Answer(t, c.Citizen(t, nil), sess.RequestURI); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Settle(ctx, real.ID); err != nil || b.Status != meetings.StatusBooked {
		t.Fatalf("booking: %+v %v", b, err)
	}
	mu.Lock()
	clock = clock.Add(meetings.PurgeAfter + verifier.DefaultSessionTTL + time.Minute)
	mu.Unlock()
	if n, err := c.Verifier.PurgeExpired(ctx); err != nil || n != 1 {
		t.Fatalf("verifier purge: %d %v, want the one unanswered session", n, err)
	}
	if b, err := s.Settle(ctx, stale.ID); err != nil || b.Status != meetings.StatusFailed || b.Reason != "session_expired" {
		t.Fatalf("a booking whose session was purged: %+v %v", b, err)
	}
	if n, err := s.PurgeStale(ctx); err != nil || n != 1 {
		t.Fatalf("purge: %d %v, want 1", n, err)
	}
	if _, err := s.Booking(ctx, stale.ID); err != meetings.ErrNotFound {
		t.Fatalf("the stale booking is still there: %v", err)
	}
	if b, err := s.Booking(ctx, real.ID); err != nil || b.Status != meetings.StatusBooked {
		t.Fatalf("the real booking after the purge: %+v %v", b, err)
	}
}
