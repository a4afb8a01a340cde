package tongtest_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/services/meetings"
	"github.com/tongid/tong/services/payments"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/web"
)

// citizenSite is one replica's meetings and payments services and their
// citizen pages. Poll is an hour: a live page on it ends only because a
// notification woke it, never because it re-read the database.
type citizenSite struct {
	c  *tongtest.City
	ms *meetings.Service
	ps *payments.Service
}

func newCitizenSite(t *testing.T, c *tongtest.City) *citizenSite {
	t.Helper()
	ctx := t.Context()
	book, err := c.Verifier.Authenticate(ctx, c.CounterTokens["meeting-booking"])
	if err != nil {
		t.Fatal(err)
	}
	check, _ := c.Verifier.Authenticate(ctx, c.CounterTokens["meeting-checkin"])
	pay, _ := c.Verifier.Authenticate(ctx, c.CounterTokens["pay-fee"])
	ms, err := meetings.New(ctx, meetings.Config{DB: c.DB, Verifier: c.Verifier, Booking: book, CheckIn: check, Secret: make([]byte, 32), Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	hallKey, err := c.Keys.Load("org-dongcheng")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := payments.New(ctx, payments.Config{DB: c.DB, Verifier: c.Verifier, Counter: pay, Payee: "Dongcheng hall", Signer: hallKey,
		KeyID: c.HallDID + "#key-1", Issuer: c.HallDID, Secret: make([]byte, 32), Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{DB: c.DB, PublicURL: c.URL, Issuer: c.Issuer, Verifier: c.Verifier, Meetings: ms, Payments: ps,
		MeetingsBookingCounter: book.ID, MeetingsCheckinCounter: check.ID, PaymentsCounter: pay.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/meetings/*", "/payments/*"} {
		c.Mux.Handle(p, srv.Handler())
	}
	return &citizenSite{c: c, ms: ms, ps: ps}
}

// outcome opens a live page's event stream and returns a channel that
// gets the data of its "outcome" event (closed when the stream ends).
func (s *citizenSite) outcome(t *testing.T, path string) <-chan string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, s.c.URL+path, nil)
	resp, err := s.c.Client().Do(req)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s = %v, %v; want an event stream", path, resp, err)
	}
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() || sc.Text() != ": waiting" { // the page is now waiting
		t.Fatalf("GET %s: first line %q, want the waiting comment", path, sc.Text())
	}
	out := make(chan string, 1)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		event := ""
		for sc.Scan() {
			if e, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				event = e
			} else if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok && event == "outcome" {
				out <- d
				return
			}
		}
	}()
	return out
}

// heard waits for the payload want on a notifier subscription.
func heard(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	timeout := time.After(30 * time.Second) // a hang guard, not a bound
	for {
		select {
		case got := <-ch:
			if got == want {
				return
			}
		case <-timeout:
			t.Fatalf("never heard %q announced", want)
		}
	}
}

func wantOutcome(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	select {
	case got, ok := <-ch:
		if !ok || !strings.Contains(got, want) {
			t.Fatalf("outcome event = %q (stream open: %v), want it to contain %q", got, ok, want)
		}
	case <-time.After(30 * time.Second): // a hang guard: the page polls only hourly
		t.Fatalf("the live page never got its outcome (want %q)", want)
	}
}

// A booking, a check-in and a payment that the citizen's wallet answers
// on replica A, and that A settles (as the page the wallet returns to
// there does), end the citizen's live pages held by replica B at once:
// A announces each change on the database's notifier (LISTEN/NOTIFY),
// which B hears, and B's pages re-read only hourly otherwise.
func TestCitizenPagesAcrossReplicas(t *testing.T) {
	t.Parallel()
	ca := tongtest.New(t, tongtest.Options{PostgreSQL: true})
	cb := ca.Replica(t)
	a, b := newCitizenSite(t, ca), newCitizenSite(t, cb)
	w := ca.Citizen(t, nil)
	ctx := t.Context()

	off, err := a.ms.AddOfficial(ctx, meetings.Official{Name: "张伟 Zhang Wei", Title: "Director", Agency: "Dongcheng District"})
	if err != nil {
		t.Fatal(err)
	}
	slot, err := a.ms.Publish(ctx, off.ID, time.Now().Add(24*time.Hour), 30, "Room 101", "Housing subsidy")
	if err != nil {
		t.Fatal(err)
	}
	bookings, stop := cb.DB.Notifier().Subscribe(meetings.NotifyBooking)
	defer stop()
	orders, stop2 := cb.DB.Notifier().Subscribe(payments.NotifyOrder)
	defer stop2()

	// Booking.
	bk, sess, err := a.ms.Book(ctx, slot.ID)
	if err != nil {
		t.Fatal(err)
	}
	page := b.outcome(t, "/meetings/bookings/"+bk.ID+"/events")
	if err := tongtest.Answer(t, w, sess.RequestURI); err != nil {
		t.Fatalf("wallet, booking: %v", err)
	}
	if got, err := a.ms.Settle(ctx, bk.ID); err != nil || got.Status != meetings.StatusBooked {
		t.Fatalf("Settle on A = %+v, %v; want booked", got, err)
	}
	heard(t, bookings, bk.ID)
	wantOutcome(t, page, bk.Number)

	// Check-in.
	if _, sess, err = a.ms.StartCheckIn(ctx, bk.Number); err != nil {
		t.Fatal(err)
	}
	page = b.outcome(t, "/meetings/checkin/"+bk.Number+"/events")
	if err := tongtest.Answer(t, w, sess.RequestURI); err != nil {
		t.Fatalf("wallet, check-in: %v", err)
	}
	if res, err := a.ms.SettleCheckIn(ctx, bk.Number); err != nil || !res.OK {
		t.Fatalf("SettleCheckIn on A = %+v, %v; want checked in", res, err)
	}
	heard(t, bookings, bk.ID)
	wantOutcome(t, page, "Checked in")

	// Payment.
	o, err := a.ps.CreateOrder(ctx, "Dongcheng hall", "FEE-LIVE-001", "Residence certificate", 2000)
	if err != nil {
		t.Fatal(err)
	}
	at, sess, err := a.ps.StartPayment(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	page = b.outcome(t, "/payments/attempts/"+at.ID+"/events")
	if err := tongtest.Answer(t, w, sess.RequestURI); err != nil {
		t.Fatalf("wallet, payment: %v", err)
	}
	if got, reason, err := a.ps.Settle(ctx, at.ID); err != nil || got.Order.Receipt == nil {
		t.Fatalf("Settle on A = %+v, %q, %v; want paid", got, reason, err)
	}
	heard(t, orders, o.ID)
	wantOutcome(t, page, "/payments/receipts/")
}
