package inquiries_test

import (
	"os"
	"testing"
	"time"

	"github.com/tongid/tong/internal/pgtest"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/services/inquiries"
	"github.com/tongid/tong/services/inquiries/sqlstore"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func replicaService(t *testing.T, db *store.DB) *inquiries.Service {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	s, err := inquiries.New(inquiries.Config{Store: st, Secret: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wakes waits for ch to close; the 30 s are a hang guard, not a bound.
func wakes(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s never woke the waiting page", what)
	}
}

// A reply posted on replica A wakes the citizen's page waiting on replica
// B, and staff answering on B wake a page waiting on A: each change is
// announced on the database's notifier (LISTEN/NOTIFY on PostgreSQL;
// on SQLite, one process owns the file, so both Services share one DB).
func TestChangedAcrossReplicas(t *testing.T) {
	t.Parallel()
	pgtest.Engines(t, func(t *testing.T, x pgtest.Target) {
		t.Parallel()
		ctx := t.Context()
		dbA, dbB := x.Replicas(t, store.Options{})
		a, b := replicaService(t, dbA), replicaService(t, dbB)
		topic, err := a.PublishTopic(ctx, "housing", inquiries.NewTopic{Name: "Housing subsidy", ReplyHours: 24, Anonymous: true})
		if err != nil {
			t.Fatal(err)
		}
		mine, err := a.Ask(ctx, topic.ID, "198.51.100.7", inquiries.Question{Text: "Can I apply while renting?"})
		if err != nil {
			t.Fatal(err)
		}
		other, err := a.Ask(ctx, topic.ID, "198.51.100.8", inquiries.Question{Text: "Another question"})
		if err != nil {
			t.Fatal(err)
		}
		staff := inquiries.Staff{Agency: "housing", Actor: "atk_desk1"}

		// Staff answer on A: the page on B waiting for this thread wakes,
		// and the one waiting for another thread stays asleep.
		onB, stopB := b.Changed(mine.Inquiry.ID)
		defer stopB()
		otherOnB, stopOther := b.Changed(other.Inquiry.ID)
		defer stopOther()
		if _, err := a.Answer(ctx, staff, mine.Inquiry.Reference, "Yes: bring your lease.", false); err != nil {
			t.Fatal(err)
		}
		wakes(t, onB, "an answer on replica A")
		select {
		case <-otherOnB:
			t.Error("a change of one inquiry woke the page of another")
		default:
		}
		stopB()
		if th, err := b.Thread(ctx, mine.Token); err != nil || th.Inquiry.Status != inquiries.StatusAnswered || len(th.Messages) != 2 {
			t.Fatalf("B reads the thread as %+v, %v; want answered with 2 messages", th, err)
		}

		// The citizen replies on B: a page waiting on A wakes.
		onA, stopA := a.Changed(mine.Inquiry.ID)
		defer stopA()
		if _, err := b.Reply(ctx, mine.Token, "Thank you; which office?"); err != nil {
			t.Fatal(err)
		}
		wakes(t, onA, "a reply on replica B")
		if th, err := a.Inquiry(ctx, staff, mine.Inquiry.Reference); err != nil || len(th.Messages) != 3 {
			t.Fatalf("A reads the thread as %+v, %v; want 3 messages", th, err)
		}

		// Closing the other inquiry on B wakes its page, still subscribed.
		if _, err := b.Close(ctx, staff, other.Inquiry.Reference); err != nil {
			t.Fatal(err)
		}
		wakes(t, otherOnB, "a close on replica B")
	})
}
