package payments

import (
	"context"
	"errors"
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

func newOrder(t *testing.T, st *sqlStore, ref string) *Order {
	t.Helper()
	o := &Order{ID: ids.New("ord_"), Reference: ref, Agency: "Dongcheng hall", Description: "Residence certificate fee", AmountFen: 2000, Status: StatusOpen}
	if err := st.createOrder(t.Context(), o, time.Now()); err != nil {
		t.Fatal(err)
	}
	return o
}

func newAttempt(t *testing.T, st *sqlStore, o *Order) *Attempt {
	t.Helper()
	a := &Attempt{ID: "pay_" + ids.Random(16), Order: o, Session: ids.New("ses_")}
	if err := st.createAttempt(t.Context(), a, time.Now()); err != nil {
		t.Fatal(err)
	}
	return a
}

func receiptFor(a *Attempt) *Receipt {
	return &Receipt{ID: "rcpt_" + ids.Random(16), PayerRef: "P-1", PayerName: "王小明", PaidAt: time.Now().Truncate(time.Second), JWT: "h.p.s", Attempt: a.ID}
}

func TestStoreReadsBack(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		ctx := t.Context()
		a, b := replicas(t, x)
		o := newOrder(t, a, "FEE-1")
		dup := &Order{ID: ids.New("ord_"), Reference: "FEE-1", Agency: "x", AmountFen: 1, Status: StatusOpen}
		if err := b.createOrder(ctx, dup, time.Now()); !errors.Is(err, errReferenceTaken) {
			t.Errorf("createOrder(same reference) = %v, want errReferenceTaken", err)
		}
		for _, key := range []string{o.ID, o.Reference} {
			got, err := b.order(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(o, got); diff != "" {
				t.Errorf("order(%q) on the other replica (-written +read):\n%s", key, diff)
			}
		}
		if _, err := b.order(ctx, "FEE-none"); !errors.Is(err, ErrNotFound) {
			t.Errorf("order(unknown) = %v, want ErrNotFound", err)
		}
		paid := newOrder(t, a, "FEE-2")
		if open, err := b.openOrders(ctx, 10); err != nil || len(open) != 2 {
			t.Errorf("openOrders = %v, %v; want both", open, err)
		}
		att := newAttempt(t, a, paid)
		if id, sess, err := b.attempt(ctx, att.ID); err != nil || id != paid.ID || sess != att.Session {
			t.Errorf("attempt = %q, %q, %v; want %q, %q", id, sess, err, paid.ID, att.Session)
		}
		if _, _, err := b.attempt(ctx, "pay_none"); !errors.Is(err, ErrNotFound) {
			t.Errorf("attempt(unknown) = %v, want ErrNotFound", err)
		}
		r := receiptFor(att)
		if err := a.completePayment(ctx, paid.ID, r); err != nil {
			t.Fatal(err)
		}
		got, err := b.order(ctx, paid.ID)
		if err != nil || got.Status != StatusPaid {
			t.Fatalf("paid order = %+v, %v", got, err)
		}
		if diff := cmp.Diff(r, got.Receipt); diff != "" {
			t.Errorf("receipt (-written +read):\n%s", diff)
		}
		if id, err := b.receiptOrder(ctx, r.ID); err != nil || id != paid.ID {
			t.Errorf("receiptOrder = %q, %v; want %q", id, err, paid.ID)
		}
		if _, err := b.receiptOrder(ctx, paid.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("receiptOrder(an order id) = %v, want ErrNotFound", err)
		}
		if open, err := b.openOrders(ctx, 10); err != nil || len(open) != 1 || open[0].ID != o.ID {
			t.Errorf("openOrders after paying one = %v, %v; want the other", open, err)
		}
	})
}

// Many attempts at one order, completed at once on two replicas: one
// pays it and its receipt is the order's; the others get ErrPaid and
// leave no receipt.
func TestStoreCompletesPaymentOnce(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		ctx := t.Context()
		a, b := replicas(t, x)
		o := newOrder(t, a, "FEE-9")
		const n = 16
		receipts := make([]*Receipt, n)
		for i := range receipts {
			receipts[i] = receiptFor(newAttempt(t, a, o))
		}
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			st := []*sqlStore{a, b}[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = st.completePayment(context.Background(), o.ID, receipts[i])
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("attempts %d and %d both paid", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, ErrPaid):
				t.Errorf("attempt %d: %v, want ErrPaid", i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("no attempt paid: %v", errs)
		}
		got, err := b.order(ctx, o.ID)
		if err != nil || got.Status != StatusPaid || got.Receipt == nil || got.Receipt.ID != receipts[winner].ID {
			t.Fatalf("the order after the race: %+v, %v; want paid with attempt %d's receipt", got, err, winner)
		}
		for i, r := range receipts {
			if _, err := a.receiptOrder(ctx, r.ID); i != winner && !errors.Is(err, ErrNotFound) {
				t.Errorf("attempt %d lost but its receipt is stored (%v)", i, err)
			}
		}
	})
}

// The purge deletes old attempts that paid nothing and keeps the one
// that paid.
func TestStorePurgeKeepsThePayingAttempt(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		ctx := t.Context()
		a, b := replicas(t, x)
		o := newOrder(t, a, "FEE-3")
		var atts []*Attempt
		for range 3 {
			atts = append(atts, newAttempt(t, a, o))
		}
		if err := b.completePayment(ctx, o.ID, receiptFor(atts[1])); err != nil {
			t.Fatal(err)
		}
		if n, err := b.purgeStale(ctx, time.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Errorf("purgeStale(an hour ago) = %d, %v; want 0", n, err)
		}
		if n, err := b.purgeStale(ctx, time.Now().Add(time.Minute)); err != nil || n != 2 {
			t.Errorf("purgeStale(now) = %d, %v; want 2", n, err)
		}
		for i, att := range atts {
			_, _, err := a.attempt(ctx, att.ID)
			if kept := err == nil; kept != (i == 1) {
				t.Errorf("attempt %d after the purge: %v (kept %v, want %v)", i, err, kept, i == 1)
			}
		}
	})
}
