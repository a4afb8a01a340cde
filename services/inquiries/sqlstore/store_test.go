package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tongid/tong/internal/pgtest"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/services/inquiries"
	"github.com/tongid/tong/services/inquiries/sqlstore"
)

// replicas opens the target's database twice (two replicas on PostgreSQL;
// on SQLite, where one process owns the file, one handle shared), returns
// a store on each, and publishes the topic top_1 through the first.
func replicas(t *testing.T, x pgtest.Target) (*sqlstore.Store, *sqlstore.Store) {
	t.Helper()
	a, b := x.Replicas(t, store.Options{})
	sa, err := sqlstore.Open(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := sqlstore.Open(t.Context(), b)
	if err != nil {
		t.Fatal(err)
	}
	top := &inquiries.Topic{ID: "top_1", Agency: "housing", Name: "Rent", Description: "Rent questions", ReplyHours: 48,
		Proofs: []string{"resident"}, Open: true, CreatedAt: time.Unix(1_800_000_000, 0)}
	if err := sa.PutTopic(t.Context(), top); err != nil {
		t.Fatal(err)
	}
	return sa, sb
}

func newInquiry(id, client string, now time.Time) (*inquiries.Inquiry, *inquiries.Message) {
	return &inquiries.Inquiry{ID: id, Reference: "R-" + id, Agency: "housing", Topic: "top_1", TokenHash: "h-" + id,
			Status: inquiries.StatusNew, Client: client, CreatedAt: now, UpdatedAt: now, DueAt: now.Add(48 * time.Hour)},
		&inquiries.Message{Author: "citizen", Kind: "question", Body: "When is the office open?", At: now}
}

// TestStoreRoundTrip: what one replica writes, the other reads back whole.
func TestStoreRoundTrip(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		a, b := replicas(t, x)
		ctx := t.Context()
		now := time.Unix(1_800_000_000, 0)
		got, err := b.Topic(ctx, "top_1")
		if err != nil || got.Name != "Rent" || len(got.Proofs) != 1 || !got.Open || !got.CreatedAt.Equal(now) {
			t.Fatalf("Topic on the other replica = %+v, %v", got, err)
		}
		if err := b.SetTopicOpen(ctx, "housing", "top_1", false); err != nil {
			t.Fatal(err)
		}
		if open, _ := a.Topics(ctx, "housing", true); len(open) != 0 {
			t.Fatalf("a closed topic is listed as open: %+v", open)
		}
		if _, err := a.Topic(ctx, "top_x"); !errors.Is(err, inquiries.ErrNotFound) {
			t.Fatalf("unknown topic: %v, want ErrNotFound", err)
		}
		inq, first := newInquiry("inq_1", "c1", now)
		if err := a.Create(ctx, inq, first, now.Add(-time.Hour), inquiries.Limits{PerClientPerHour: 5, GlobalPerHour: 600}); err != nil {
			t.Fatal(err)
		}
		back, err := b.Inquiry(ctx, inquiries.Lookup{TokenHash: "h-inq_1"})
		if err != nil || back.ID != "inq_1" || back.Reference != "R-inq_1" || !back.DueAt.Equal(inq.DueAt) {
			t.Fatalf("Inquiry by token on the other replica = %+v, %v", back, err)
		}
		msgs, err := b.Messages(ctx, "inq_1")
		if err != nil || len(msgs) != 1 || msgs[0].Seq != 1 || msgs[0].Body != first.Body {
			t.Fatalf("Messages = %+v, %v", msgs, err)
		}
		if _, err := b.Inquiry(ctx, inquiries.Lookup{TokenHash: "nope"}); !errors.Is(err, inquiries.ErrNotFound) {
			t.Fatalf("unknown token: %v, want ErrNotFound", err)
		}
	})
}

// TestStoreFloodLimitRace: 16 questions from one client at once, spread
// over two replicas, with a limit of 5 an hour: exactly 5 are stored, the
// rest refused with ErrRateLimited, never more (the count and the insert
// are one transaction on both engines).
func TestStoreFloodLimitRace(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		a, b := replicas(t, x)
		now := time.Unix(1_800_000_000, 0)
		var mu sync.Mutex
		var ok, limited int
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				s := a
				if i%2 == 1 {
					s = b
				}
				inq, first := newInquiry(fmt.Sprintf("inq_%d", i), "same-client", now)
				err := s.Create(context.Background(), inq, first, now.Add(-time.Hour), inquiries.Limits{PerClientPerHour: 5, GlobalPerHour: 600})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, inquiries.ErrRateLimited):
					limited++
				default:
					t.Errorf("Create: %v", err)
				}
			})
		}
		wg.Wait()
		if ok != 5 || limited != 11 {
			t.Fatalf("stored %d, limited %d; want 5 and 11", ok, limited)
		}
	})
}

// TestStoreUpdateOnceRace: many staff take the same new inquiry at once
// on two replicas (Update from "new" to "assigned"): exactly one wins,
// the others get ErrConflict, and the thread holds one message per win.
func TestStoreUpdateOnceRace(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		a, b := replicas(t, x)
		ctx := t.Context()
		now := time.Unix(1_800_000_000, 0)
		inq, first := newInquiry("inq_1", "c1", now)
		if err := a.Create(ctx, inq, first, now.Add(-time.Hour), inquiries.Limits{PerClientPerHour: 5, GlobalPerHour: 600}); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var won, conflict int
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				s := a
				if i%2 == 1 {
					s = b
				}
				who := fmt.Sprintf("staff-%d", i)
				err := s.Update(context.Background(), "inq_1", []string{inquiries.StatusNew},
					inquiries.Change{Status: inquiries.StatusAssigned, Assignee: &who},
					&inquiries.Message{Author: "staff", Kind: "note", Body: "taken by " + who, At: now}, now)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errors.Is(err, inquiries.ErrConflict):
					conflict++
				default:
					t.Errorf("Update: %v", err)
				}
			})
		}
		wg.Wait()
		if won != 1 || conflict != 11 {
			t.Fatalf("won %d, conflicts %d; want 1 and 11", won, conflict)
		}
		msgs, err := b.Messages(ctx, "inq_1")
		if err != nil || len(msgs) != 2 {
			t.Fatalf("messages after the race = %+v, %v; want the question and one note", msgs, err)
		}
		got, _ := b.Inquiry(ctx, inquiries.Lookup{ID: "inq_1"})
		if got.Status != inquiries.StatusAssigned || "taken by "+got.Assignee != msgs[1].Body {
			t.Fatalf("inquiry %+v and note %q disagree on who won", got, msgs[1].Body)
		}
	})
}
