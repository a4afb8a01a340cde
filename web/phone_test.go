package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSlotsGroupedByDay: the meetings page lists slots under one heading
// per day, in order, not as a wide table.
func TestSlotsGroupedByDay(t *testing.T) {
	s := newSite(t)
	_, body := s.get(t, "/meetings/")
	m := regexp.MustCompile(`/meetings/official/(off_[^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no official on the meetings page")
	}
	s.post(t, "/agency/signin", url.Values{"token": {s.c.IssuerToken}})
	later := time.Now().AddDate(0, 0, 4)
	for _, hm := range []string{"09:30", "14:00"} {
		form := url.Values{"date": {later.Format(time.DateOnly)}, "time": {hm}, "place": {"Room 7"}, "topic": {"Pensions"}}
		if st, _ := s.post(t, "/meetings/official/"+m[1]+"/slots", form); st != 200 {
			t.Fatalf("publish %s: %d", hm, st)
		}
	}
	_, body = s.get(t, "/meetings/")
	if strings.Contains(body, "<table") {
		t.Error("the meetings page still has a table")
	}
	days := regexp.MustCompile(`<h2 class="day">([^<]+)</h2>`).FindAllStringSubmatch(body, -1)
	seen := map[string]bool{}
	for _, d := range days {
		if seen[d[1]] {
			t.Errorf("day %q has two headings", d[1])
		}
		seen[d[1]] = true
	}
	want := later.Format("Monday 2006-01-02")
	if len(days) < 2 || !seen[want] || days[len(days)-1][1] != want {
		t.Errorf("day headings %q, want at least two, the last %q", days, want)
	}
	last := body[strings.Index(body, want):]
	if n := strings.Count(last, `class="slot"`); n != 2 {
		t.Errorf("%d slots under %s, want 2", n, want)
	}
}
