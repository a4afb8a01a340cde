package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/sqlitedb"
	"github.com/tongid/tong/services/inquiries"
	"github.com/tongid/tong/services/inquiries/sqlstore"
)

// An agency publishes a topic, a citizen asks anonymously, staff answer,
// and the citizen reads the answer with the secret token.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "inquiries")
	defer os.RemoveAll(dir)
	db, _ := sqlitedb.Open(ctx, filepath.Join(dir, "tong.db"), store.Options{})
	defer db.Close()
	st, _ := sqlstore.Open(ctx, db)
	svc, _ := inquiries.New(inquiries.Config{Store: st, Secret: make([]byte, 32)})

	topic, _ := svc.PublishTopic(ctx, "housing", inquiries.NewTopic{Name: "Housing subsidy", ReplyHours: 72, Anonymous: true})
	asked, _ := svc.Ask(ctx, topic.ID, "198.51.100.7", inquiries.Question{Text: "Can I apply while renting?"})
	staff := inquiries.Staff{Agency: "housing", Actor: "atk_desk1"}
	_, counts, _ := svc.Queue(ctx, "housing", "open", 0)
	fmt.Println("open:", counts.Open)
	_, _ = svc.Answer(ctx, staff, asked.Inquiry.Reference, "Yes: bring your lease to the hall.", false)

	th, _ := svc.Thread(ctx, asked.Token)
	fmt.Println(th.Inquiry.Status)
	for _, m := range th.Messages {
		fmt.Printf("%s: %s\n", m.Author, m.Body)
	}
	// Another agency does not find it.
	_, err := svc.Inquiry(ctx, inquiries.Staff{Agency: "psb", Actor: "atk_x"}, asked.Inquiry.Reference)
	fmt.Println(inquiries.CodeOf(err))
	// Output:
	// open: 1
	// answered
	// citizen: Can I apply while renting?
	// staff: Yes: bring your lease to the hall.
	// not_found
}
