package inquiries_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/services/inquiries"
	"github.com/tongid/tong/services/inquiries/sqlstore"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
)

type fixture struct {
	c   *tongtest.City
	s   *inquiries.Service
	ctr *verifier.Counter
	now time.Time
}

func newFixture(t *testing.T, lim inquiries.Limits) *fixture {
	t.Helper()
	c := tongtest.New(t, tongtest.Options{})
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, c.DB)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{c: c, now: time.Now()}
	// One counter of the hall that may ask every inquiry purpose.
	multi, tok, err := c.Verifier.AddCounter(ctx, "dongcheng", "inquiries", inquiries.Purposes())
	if err != nil || tok == "" {
		t.Fatal(err)
	}
	f.ctr = multi
	f.s, err = inquiries.New(inquiries.Config{Store: st, Verifier: c.Verifier, Counter: multi, Secret: make([]byte, 32), Limits: lim,
		Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func codeOf(err error) inquiries.Code { return inquiries.CodeOf(err) }

func TestAskAssignAnswerClose(t *testing.T) {
	f := newFixture(t, inquiries.Limits{})
	ctx := context.Background()
	topic, err := f.s.PublishTopic(ctx, "housing", inquiries.NewTopic{Name: "Housing subsidy 住房补贴", Description: "Who can apply", ReplyHours: 48, Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	asked, err := f.s.Ask(ctx, topic.ID, "198.51.100.7", inquiries.Question{Text: "  Can I apply if I rent? <b>bold</b>  "})
	if err != nil {
		t.Fatal(err)
	}
	ref := asked.Inquiry.Reference
	if !strings.HasPrefix(ref, "INQ-") || !strings.HasPrefix(asked.Token, inquiries.TokenPrefix) || asked.RequestURI != "" {
		t.Fatalf("asked = %+v", asked)
	}
	staff := inquiries.Staff{Agency: "housing", Actor: "atk_1"}
	q, counts, err := f.s.Queue(ctx, "housing", "", 0)
	if err != nil || len(q) != 1 || q[0].Reference != ref || counts.New != 1 || counts.Open != 1 || counts.Overdue != 0 {
		t.Fatalf("Queue = %+v %+v %v", q, counts, err)
	}
	// Past the reply time it counts as overdue.
	f.now = f.now.Add(49 * time.Hour)
	if c, _ := f.s.Counts(ctx, "housing"); c.Overdue != 1 {
		t.Fatalf("Counts after 49 h = %+v, want 1 overdue", c)
	}
	th, err := f.s.Assign(ctx, staff, strings.ToLower(ref), "")
	if err != nil || th.Inquiry.Status != inquiries.StatusAssigned || th.Inquiry.Assignee != "atk_1" {
		t.Fatalf("Assign = %+v %v", th, err)
	}
	if th.Messages[0].Body != "Can I apply if I rent? <b>bold</b>" {
		t.Errorf("question = %q, want the trimmed text, stored as typed", th.Messages[0].Body)
	}
	if _, err := f.s.Answer(ctx, staff, ref, "Please send your lease number.", true); err != nil {
		t.Fatal(err)
	}
	cit, err := f.s.Thread(ctx, asked.Token)
	if err != nil || cit.Inquiry.Status != inquiries.StatusAnswered {
		t.Fatalf("Thread = %+v %v", cit, err)
	}
	last := cit.Messages[len(cit.Messages)-1]
	if last.Kind != inquiries.KindMoreInfo || last.Author != inquiries.AuthorStaff || last.Staff != "" {
		t.Errorf("the citizen sees %+v; want a more_info message without the staff id", last)
	}
	cit, err = f.s.Reply(ctx, asked.Token, "Lease 2024-118.")
	if err != nil || cit.Inquiry.Status != inquiries.StatusAssigned {
		t.Fatalf("Reply = %+v %v; want back to assigned", cit, err)
	}
	if _, err := f.s.Answer(ctx, staff, ref, "You can apply.", false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Close(ctx, staff, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Reply(ctx, asked.Token, "Thanks"); codeOf(err) != inquiries.CodeClosed {
		t.Errorf("Reply after close: %v, want %s", err, inquiries.CodeClosed)
	}
	if _, err := f.s.Close(ctx, staff, ref); codeOf(err) != inquiries.CodeClosed {
		t.Errorf("second Close: %v, want %s", err, inquiries.CodeClosed)
	}
	if c, _ := f.s.Counts(ctx, "housing"); c.Closed != 1 || c.Open != 0 {
		t.Errorf("Counts = %+v", c)
	}
	// A wrong or malformed token finds nothing.
	for _, tok := range []string{"", "tong_iq_x", asked.Token + "x", "nope"} {
		if _, err := f.s.Thread(ctx, tok); codeOf(err) != inquiries.CodeNotFound {
			t.Errorf("Thread(%q) = %v, want not_found", tok, err)
		}
	}
}

// An agency never reads, answers or closes another agency's inquiries.
func TestAgencyIsolation(t *testing.T) {
	f := newFixture(t, inquiries.Limits{})
	ctx := context.Background()
	topic, _ := f.s.PublishTopic(ctx, "housing", inquiries.NewTopic{Name: "Housing", ReplyHours: 24, Anonymous: true})
	asked, err := f.s.Ask(ctx, topic.ID, "c1", inquiries.Question{Text: "Question"})
	if err != nil {
		t.Fatal(err)
	}
	other := inquiries.Staff{Agency: "psb", Actor: "atk_psb"}
	ref := asked.Inquiry.Reference
	if _, err := f.s.Inquiry(ctx, other, ref); codeOf(err) != inquiries.CodeNotFound {
		t.Errorf("Inquiry by another agency: %v", err)
	}
	if _, err := f.s.Answer(ctx, other, ref, "hi", false); codeOf(err) != inquiries.CodeNotFound {
		t.Errorf("Answer by another agency: %v", err)
	}
	if _, err := f.s.Close(ctx, other, ref); codeOf(err) != inquiries.CodeNotFound {
		t.Errorf("Close by another agency: %v", err)
	}
	if q, c, _ := f.s.Queue(ctx, "psb", "", 0); len(q) != 0 || c.Open != 0 {
		t.Errorf("psb's queue holds %d items", len(q))
	}
	if err := f.s.CloseTopic(ctx, "psb", topic.ID); !errors.Is(err, inquiries.ErrNotFound) {
		t.Errorf("CloseTopic by another agency: %v", err)
	}
}

// A proven question shows staff the disclosed facts and nothing that
// names the asker; until the proof is given, staff do not see it.
func TestProofDisclosesOnlyWhatWasAsked(t *testing.T) {
	f := newFixture(t, inquiries.Limits{})
	ctx := context.Background()
	topic, err := f.s.PublishTopic(ctx, "psb", inquiries.NewTopic{Name: "Senior card", ReplyHours: 24, Proofs: []string{"resident", "age-60"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Ask(ctx, topic.ID, "c", inquiries.Question{Text: "hello"}); codeOf(err) != inquiries.CodeProofRequired {
		t.Fatalf("anonymous on a proof-only topic: %v", err)
	}
	asked, err := f.s.Ask(ctx, topic.ID, "c", inquiries.Question{Text: "When do I get my senior card?", Proofs: []string{"resident", "age-60"}})
	if err != nil {
		t.Fatal(err)
	}
	if asked.Inquiry.Status != inquiries.StatusVerifying || !strings.HasPrefix(asked.RequestURI, "openid4vp://") {
		t.Fatalf("asked = %+v", asked)
	}
	staff := inquiries.Staff{Agency: "psb", Actor: "atk"}
	if _, err := f.s.Inquiry(ctx, staff, asked.Inquiry.Reference); codeOf(err) != inquiries.CodeNotFound {
		t.Errorf("staff see an unproven inquiry: %v", err)
	}
	w := f.c.Citizen(t, func(typ string, m map[string]any) {
		if typ == "citizen-identity" {
			m["age_equal_or_over"] = map[string]any{"18": true, "60": true}
		}
	})
	if err := tongtest.Answer(t, w, asked.RequestURI); err != nil {
		t.Fatal(err)
	}
	th, err := f.s.Inquiry(ctx, staff, asked.Inquiry.Reference)
	if err != nil || th.Inquiry.Status != inquiries.StatusNew {
		t.Fatalf("after the proof: %+v %v", th, err)
	}
	got := map[string]string{}
	for _, d := range th.Inquiry.Disclosed {
		got[d.Proof] = d.Value
	}
	if got["resident"] != "北京市" || got["age-60"] != "yes" || len(got) != 2 {
		t.Errorf("disclosed = %+v", th.Inquiry.Disclosed)
	}
	raw, _ := json.Marshal(th)
	for _, secret := range []string{"王", "小明", "110101", "1990-05-17", "东四十条", asked.Token} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("staff's view holds %q", secret)
		}
	}
}

func TestFloodLimits(t *testing.T) {
	f := newFixture(t, inquiries.Limits{PerClientPerHour: 2, GlobalPerHour: 3})
	ctx := context.Background()
	topic, _ := f.s.PublishTopic(ctx, "housing", inquiries.NewTopic{Name: "Housing", ReplyHours: 24, Anonymous: true})
	ask := func(client string) error {
		_, err := f.s.Ask(ctx, topic.ID, client, inquiries.Question{Text: "q"})
		return err
	}
	for i := range 2 {
		if err := ask("a"); err != nil {
			t.Fatalf("question %d: %v", i, err)
		}
	}
	if err := ask("a"); codeOf(err) != inquiries.CodeRateLimited {
		t.Errorf("third question from one client: %v, want rate_limited", err)
	}
	if err := ask("b"); err != nil {
		t.Errorf("another client: %v", err)
	}
	if err := ask("c"); codeOf(err) != inquiries.CodeRateLimited {
		t.Errorf("past the global bound: %v, want rate_limited", err)
	}
	f.now = f.now.Add(61 * time.Minute)
	if err := ask("a"); err != nil {
		t.Errorf("an hour later: %v", err)
	}
	// A thread is bounded too.
	asked, _ := f.s.Ask(ctx, topic.ID, "d", inquiries.Question{Text: "q"})
	staff := inquiries.Staff{Agency: "housing", Actor: "atk"}
	var err error
	for i := 1; i < inquiries.MaxMessages+2 && err == nil; i++ {
		if i%2 == 1 {
			_, err = f.s.Answer(ctx, staff, asked.Inquiry.Reference, "a", false)
		} else {
			_, err = f.s.Reply(ctx, asked.Token, "r")
		}
	}
	if codeOf(err) != inquiries.CodeTooManyMessages {
		t.Errorf("past %d messages: %v", inquiries.MaxMessages, err)
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t, inquiries.Limits{})
	ctx := context.Background()
	topic, _ := f.s.PublishTopic(ctx, "housing", inquiries.NewTopic{Name: "Housing", ReplyHours: 24, Anonymous: true, Proofs: []string{"resident"}})
	topics := []struct {
		name string
		nt   inquiries.NewTopic
		code inquiries.Code
	}{
		{"no name", inquiries.NewTopic{ReplyHours: 1, Anonymous: true}, inquiries.CodeInvalidRequest},
		{"long name", inquiries.NewTopic{Name: strings.Repeat("x", inquiries.MaxTopicName+1), ReplyHours: 1, Anonymous: true}, inquiries.CodeInvalidRequest},
		{"zero hours", inquiries.NewTopic{Name: "x", Anonymous: true}, inquiries.CodeInvalidRequest},
		{"unknown proof", inquiries.NewTopic{Name: "x", ReplyHours: 1, Proofs: []string{"name"}}, inquiries.CodeInvalidRequest},
		{"closed to everyone", inquiries.NewTopic{Name: "x", ReplyHours: 1}, inquiries.CodeInvalidRequest},
		{"control character", inquiries.NewTopic{Name: "x\x00y", ReplyHours: 1, Anonymous: true}, inquiries.CodeInvalidRequest},
	}
	for _, tc := range topics {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.s.PublishTopic(ctx, "housing", tc.nt); codeOf(err) != tc.code {
				t.Errorf("PublishTopic(%+v) = %v, want %s", tc.nt, err, tc.code)
			}
		})
	}
	questions := []struct {
		name  string
		topic string
		q     inquiries.Question
		code  inquiries.Code
	}{
		{"empty", topic.ID, inquiries.Question{Text: "   "}, inquiries.CodeInvalidRequest},
		{"too long", topic.ID, inquiries.Question{Text: strings.Repeat("问", inquiries.MaxText+1)}, inquiries.CodeInvalidRequest},
		{"invalid UTF-8", topic.ID, inquiries.Question{Text: "a\xffb"}, inquiries.CodeInvalidRequest},
		{"proof not offered", topic.ID, inquiries.Question{Text: "q", Proofs: []string{"age-60"}}, inquiries.CodeProofNotAllowed},
		{"no such topic", "top_nope", inquiries.Question{Text: "q"}, inquiries.CodeNotFound},
	}
	for _, tc := range questions {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := f.s.Ask(ctx, tc.topic, "c", tc.q); codeOf(err) != tc.code {
				t.Errorf("Ask(%.20q) = %v, want %s", tc.q.Text, err, tc.code)
			}
		})
	}
	// Exactly MaxText characters is fine.
	if _, err := f.s.Ask(ctx, topic.ID, "c", inquiries.Question{Text: strings.Repeat("问", inquiries.MaxText)}); err != nil {
		t.Errorf("a text of MaxText characters: %v", err)
	}
	if _, _, err := f.s.Queue(ctx, "housing", "bogus", 0); codeOf(err) != inquiries.CodeInvalidRequest {
		t.Errorf("Queue(bogus) = %v", err)
	}
	if err := f.s.CloseTopic(ctx, "housing", topic.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Ask(ctx, topic.ID, "c", inquiries.Question{Text: "q"}); codeOf(err) != inquiries.CodeTopicClosed {
		t.Errorf("Ask on a closed topic: %v", err)
	}
}

func ExamplePurposeFor() {
	fmt.Println(inquiries.PurposeFor([]string{"age-60", "resident"}))
	fmt.Println(inquiries.PurposeFor([]string{"age-60"}))
	fmt.Printf("%q\n", inquiries.PurposeFor(nil))
	// Output:
	// inquiry-resident-age-60
	// inquiry-age-60
	// ""
}

// Every set of proofs maps to a purpose the verifier ships, and that
// purpose's DCQL answers each proof with its query id.
func TestPurposesAreVerifierPresets(t *testing.T) {
	presets, err := verifier.Presets()
	if err != nil {
		t.Fatal(err)
	}
	sets := [][]string{{"resident"}, {"age-60"}, {"resident", "age-60"}}
	for _, set := range sets {
		id := inquiries.PurposeFor(set)
		p := presets[id]
		if p == nil || !slices.Contains(inquiries.Purposes(), id) {
			t.Fatalf("PurposeFor(%v) = %q: not a verifier preset or not in Purposes()", set, id)
		}
		for _, proof := range set {
			pr, _ := inquiries.ProofByID(proof)
			if !strings.Contains(string(p.Query), `"id": "`+pr.QueryID+`"`) {
				t.Errorf("purpose %s has no credential query %q for %s", id, pr.QueryID, proof)
			}
		}
	}
}

// A refused question costs no verifier session: the limits are checked
// before the wallet request is made.
func TestFloodLimitsBeforeVerifierSessions(t *testing.T) {
	f := newFixture(t, inquiries.Limits{PerClientPerHour: 1})
	ctx := context.Background()
	topic, _ := f.s.PublishTopic(ctx, "housing", inquiries.NewTopic{Name: "Housing", ReplyHours: 24, Anonymous: true, Proofs: []string{"resident"}})
	if _, err := f.s.Ask(ctx, topic.ID, "a", inquiries.Question{Text: "q", Proofs: []string{"resident"}}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := f.s.Ask(ctx, topic.ID, "a", inquiries.Question{Text: "q", Proofs: []string{"resident"}}); codeOf(err) != inquiries.CodeRateLimited {
			t.Fatalf("Ask past the limit: %v", err)
		}
	}
	if ss, err := f.c.Verifier.Sessions(ctx, f.ctr, 100); err != nil || len(ss) != 1 {
		t.Errorf("%d verifier sessions after one accepted and three refused questions, want 1 (%v)", len(ss), err)
	}
}
