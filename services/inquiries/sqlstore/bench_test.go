package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tongid/tong/services/inquiries"
)

// BenchmarkAsk files anonymous questions, each one durable transaction
// (the limits checked and the inquiry and its first message written), and
// BenchmarkReply adds a message to a thread (settle, update, append).
func BenchmarkAsk(b *testing.B) {
	ctx := context.Background()
	s, db, err := open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	t, _ := s.PublishTopic(ctx, "housing", inquiries.NewTopic{Name: "Housing", ReplyHours: 24, Anonymous: true})
	b.Run("ask", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := s.Ask(ctx, t.ID, fmt.Sprint("client-", i%50), inquiries.Question{Text: "Can I apply for the subsidy while renting?"}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	a, err := s.Ask(ctx, t.ID, "one", inquiries.Question{Text: "q"})
	if err != nil {
		b.Fatal(err)
	}
	staff := inquiries.Staff{Agency: "housing", Actor: "atk"}
	b.Run("answer+reply", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			a, _ = s.Ask(ctx, t.ID, "one", inquiries.Question{Text: "q"}) // a fresh thread: at most 60 messages each
			b.StartTimer()
			if _, err := s.Answer(ctx, staff, a.Inquiry.Reference, "answer", false); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Reply(ctx, a.Token, "reply"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
