package meetings

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tongid/tong/internal/ids"
	"github.com/tongid/tong/internal/pgtest"
	"github.com/tongid/tong/internal/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// replicas opens the target's database twice, as two replicas of the
// service would, and the store on each.
func replicas(t *testing.T, x pgtest.Target) (a, b *sqlStore) {
	t.Helper()
	for _, st := range []**sqlStore{&a, &b} {
		var err error
		if *st, err = openStore(t.Context(), x.Open(t, store.Options{})); err != nil {
			t.Fatal(err)
		}
	}
	return a, b
}

// race runs step n times at once, alternating between the replicas a and
// b, and returns each call's error.
func race[S any](a, b S, n int, step func(st S, i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = step(st, i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// exactlyOne checks that one call of the race succeeded and every other
// failed with want, and returns the winner.
func exactlyOne(t *testing.T, errs []error, want error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("calls %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, want):
			t.Errorf("call %d: %v, want %v", i, err, want)
		}
	}
	if winner < 0 {
		t.Fatalf("no call succeeded: %v", errs)
	}
	return winner
}

// fixture is an official with one slot a day for the coming days.
func fixture(t *testing.T, st *sqlStore, slots int) (Official, []*Slot) {
	t.Helper()
	ctx := t.Context()
	o := Official{ID: ids.New("off_"), Name: "张伟 Zhang Wei", Title: "Director", Agency: "Dongcheng District"}
	if err := st.addOfficial(ctx, &o); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(24 * time.Hour).Truncate(time.Second)
	var out []*Slot
	for i := range slots {
		sl := &Slot{ID: ids.New("slot_"), Official: o, StartsAt: base.Add(time.Duration(i) * 24 * time.Hour), Minutes: 30, Place: "Room 3", Topic: "Housing"}
		if err := st.addSlot(ctx, sl); err != nil {
			t.Fatal(err)
		}
		out = append(out, sl)
	}
	return o, out
}

func startBooking(t *testing.T, st *sqlStore, sl *Slot, key string) *Booking {
	t.Helper()
	b := &Booking{ID: ids.New("bkg_"), Number: bookingNumber(), Slot: *sl, Session: ids.New("ses_")}
	if err := st.startBooking(t.Context(), b, hashKey(key), time.Now()); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStoreReadsBack(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		ctx := t.Context()
		a, b := replicas(t, x)
		off, slots := fixture(t, a, 3)
		got, err := b.slot(ctx, slots[1].ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(slots[1], got); diff != "" {
			t.Errorf("slot read on the other replica (-written +read):\n%s", diff)
		}
		if _, err := b.slot(ctx, "slot_none"); !errors.Is(err, ErrNotFound) {
			t.Errorf("slot(unknown) = %v, want ErrNotFound", err)
		}
		up, err := b.upcoming(ctx, slots[0].StartsAt, slots[2].StartsAt)
		if err != nil || len(up) != 2 || up[0].ID != slots[0].ID || up[1].ID != slots[1].ID {
			t.Errorf("upcoming [slot 0, slot 2) = %v, %v; want slots 0 and 1", up, err)
		}
		if offs, err := b.officials(ctx); err != nil || len(offs) != 1 || offs[0] != off {
			t.Errorf("officials() = %v, %v; want [%v]", offs, err, off)
		}

		bk := startBooking(t, a, slots[0], "key")
		for name, read := range map[string]func() (*Booking, error){
			"booking":         func() (*Booking, error) { return b.booking(ctx, bk.ID) },
			"bookingByNumber": func() (*Booking, error) { return b.bookingByNumber(ctx, bk.Number) },
		} {
			got, err := read()
			if err != nil || got.ID != bk.ID || got.Status != StatusVerifying || got.Slot.ID != slots[0].ID || !got.CancelKeyOK("key") || got.CancelKeyOK("other") {
				t.Errorf("%s = %+v, %v; want the verifying booking, cancelled by its key only", name, got, err)
			}
		}
		if _, err := b.booking(ctx, "bkg_none"); !errors.Is(err, ErrNotFound) {
			t.Errorf("booking(unknown) = %v, want ErrNotFound", err)
		}
		if _, err := b.bookingByNumber(ctx, "BK-NONE"); !errors.Is(err, ErrNotFound) {
			t.Errorf("bookingByNumber(unknown) = %v, want ErrNotFound", err)
		}
		// A verifying booking holds nothing and is not on the day's list.
		if sl, _ := b.slot(ctx, slots[0].ID); sl.Booked {
			t.Error("a verifying booking holds its slot")
		}
		if err := a.book(ctx, bk.ID, slots[0].ID, "C-1", 2, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := a.setCheckIn(ctx, bk.ID, "ses_checkin"); err != nil {
			t.Fatal(err)
		}
		day, err := b.day(ctx, off.ID, slots[0].StartsAt, slots[0].StartsAt.Add(time.Hour))
		if err != nil || len(day) != 1 || day[0].ID != bk.ID || day[0].Status != StatusBooked || day[0].CitizenRef != "C-1" || day[0].CheckIn != "ses_checkin" || !day[0].Slot.Booked {
			t.Errorf("day() = %+v, %v; want the booked booking with its check-in session", day, err)
		}
	})
}

// One verifying booking that many pages settle at once on two replicas
// is booked once; the others find it no longer verifying.
func TestStoreBooksOnce(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		a, b := replicas(t, x)
		_, slots := fixture(t, a, 1)
		bk := startBooking(t, a, slots[0], "key")
		errs := race(a, b, 16, func(st *sqlStore, _ int) error {
			return st.book(context.Background(), bk.ID, slots[0].ID, "C-1", 2, time.Now())
		})
		exactlyOne(t, errs, errNotVerifying)
		if got, err := b.booking(t.Context(), bk.ID); err != nil || got.Status != StatusBooked || !got.Slot.Booked {
			t.Errorf("after the race: %+v, %v; want booked", got, err)
		}
	})
}

// Many citizens' verified bookings of one slot, settled at once on two
// replicas: one takes the slot, the others get errSlotTaken.
func TestStoreOneBookingPerSlot(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		a, b := replicas(t, x)
		_, slots := fixture(t, a, 1)
		var bks []*Booking
		for range 12 {
			bks = append(bks, startBooking(t, a, slots[0], "key"))
		}
		errs := race(a, b, len(bks), func(st *sqlStore, i int) error {
			return st.book(context.Background(), bks[i].ID, slots[0].ID, fmt.Sprint("C-", i), 2, time.Now())
		})
		w := exactlyOne(t, errs, errSlotTaken)
		for i, bk := range bks {
			got, err := b.booking(t.Context(), bk.ID)
			want := StatusVerifying // the losers' Settle fails them next
			if i == w {
				want = StatusBooked
			}
			if err != nil || got.Status != want {
				t.Errorf("booking %d after the race: %+v, %v; want %s", i, got, err, want)
			}
		}
	})
}

// One citizen's verified bookings of many slots, settled at once on two
// replicas with a limit of one: one is booked, the others get errLimit
// (on PostgreSQL the count and the update are one SERIALIZABLE
// transaction, so two replicas cannot both pass the count).
func TestStoreBookingLimit(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		a, b := replicas(t, x)
		_, slots := fixture(t, a, 8)
		var bks []*Booking
		for _, sl := range slots {
			bks = append(bks, startBooking(t, a, sl, "key"))
		}
		errs := race(a, b, len(bks), func(st *sqlStore, i int) error {
			return st.book(context.Background(), bks[i].ID, slots[i].ID, "C-same", 1, time.Now())
		})
		exactlyOne(t, errs, errLimit)
	})
}

// Cancelling needs the cancel key's hash; many cancels of one booking at
// once on two replicas cancel it once, and free its slot.
func TestStoreCancelsOnceWithProof(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		ctx := t.Context()
		a, b := replicas(t, x)
		_, slots := fixture(t, a, 1)
		bk := startBooking(t, a, slots[0], "the-key")
		if err := a.cancel(ctx, bk.ID, hashKey("the-key")); !errors.Is(err, ErrNotBooked) {
			t.Errorf("cancel(verifying) = %v, want ErrNotBooked", err)
		}
		if err := a.book(ctx, bk.ID, slots[0].ID, "C-1", 2, time.Now()); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"", hashKey(""), hashKey("another-key")} {
			if err := b.cancel(ctx, bk.ID, bad); !errors.Is(err, ErrNotBooked) {
				t.Errorf("cancel(hash %q) = %v, want ErrNotBooked", bad, err)
			}
		}
		errs := race(a, b, 16, func(st *sqlStore, _ int) error {
			return st.cancel(context.Background(), bk.ID, hashKey("the-key"))
		})
		exactlyOne(t, errs, ErrNotBooked)
		if got, err := b.booking(ctx, bk.ID); err != nil || got.Status != StatusCancelled || got.Slot.Booked {
			t.Errorf("after the race: %+v, %v; want cancelled, the slot free", got, err)
		}
		next := startBooking(t, b, slots[0], "k2")
		if err := b.book(ctx, next.ID, slots[0].ID, "C-2", 2, time.Now()); err != nil {
			t.Errorf("booking the freed slot: %v", err)
		}
	})
}

// Check-in and fail move a booking only from the state they name.
func TestStoreCheckInOnceAndFail(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		ctx := t.Context()
		a, b := replicas(t, x)
		_, slots := fixture(t, a, 2)
		bk := startBooking(t, a, slots[0], "key")
		if ok, err := a.checkIn(ctx, bk.ID); err != nil || ok {
			t.Errorf("checkIn(verifying) = %v, %v; want false", ok, err)
		}
		if err := a.book(ctx, bk.ID, slots[0].ID, "C-1", 2, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := b.fail(ctx, bk.ID, "late"); err != nil {
			t.Fatal(err)
		}
		errs := race(a, b, 16, func(st *sqlStore, _ int) error {
			ok, err := st.checkIn(context.Background(), bk.ID)
			if err == nil && !ok {
				err = ErrNotBooked
			}
			return err
		})
		exactlyOne(t, errs, ErrNotBooked)
		if got, err := b.booking(ctx, bk.ID); err != nil || got.Status != StatusCheckedIn || got.Reason != "" {
			t.Errorf("after fail and check-in: %+v, %v; want checked in, no reason", got, err)
		}

		other := startBooking(t, a, slots[1], "key")
		if err := b.fail(ctx, other.ID, ReasonSlotTaken); err != nil {
			t.Fatal(err)
		}
		if got, err := a.booking(ctx, other.ID); err != nil || got.Status != StatusFailed || got.Reason != ReasonSlotTaken {
			t.Errorf("failed booking: %+v, %v", got, err)
		}
		if err := a.book(ctx, other.ID, slots[1].ID, "C-1", 2, time.Now()); !errors.Is(err, errNotVerifying) {
			t.Errorf("book(failed) = %v, want errNotVerifying", err)
		}
		// The purge takes the failed booking, not the checked-in one.
		if n, err := b.purgeStale(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
			t.Errorf("purgeStale = %d, %v; want 1", n, err)
		}
		if _, err := a.booking(ctx, other.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("the purged booking: %v, want ErrNotFound", err)
		}
		if _, err := a.booking(ctx, bk.ID); err != nil {
			t.Errorf("the checked-in booking after the purge: %v", err)
		}
	})
}
