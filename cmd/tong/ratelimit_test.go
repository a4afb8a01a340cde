package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/internal/httpx"
	"github.com/tongid/tong/web"
)

// post sends a POST to base+path as the client named by xff (through the
// trusted proxy the test stands for; "" sends no header) and returns the
// status, the error code of a JSON error body, and the response.
func postAs(t *testing.T, base, path, xff, accept string) (int, string, *http.Response) {
	t.Helper()
	return requestAs(t, http.MethodPost, base, path, xff, accept)
}

// requestAs is postAs with another method.
func requestAs(t *testing.T, method, base, path, xff, accept string) (int, string, *http.Response) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e httpx.ErrorBody
	_ = json.Unmarshal(body, &e)
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp.StatusCode, e.Error, resp
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// concrete turns a chi pattern into a path by filling each {param}.
func concrete(pattern string) string {
	return regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(pattern, "x")
}

// TestRateLimitPerClient (issue 16, beyond the list): the unauthenticated
// state-changing routes share one bucket per client. After its burst a
// client gets 429 rate_limited with Retry-After on every one of them
// (the citizen's browser a page saying how long to wait), while another
// client, reads, and the proxy's own address are unaffected. Before, a
// stranger could start bookings, payments and their verifier sessions,
// registry writes and PIN tries at any rate.
func TestRateLimitPerClient(t *testing.T) {
	t.Parallel()
	// 0.001 a minute: no token comes back while the test runs.
	base, _ := serveLogged(t, "--demo", "--rate-limit", "0.001", "--rate-limit-burst", "3", "--trusted-proxies", "127.0.0.1/32")
	const a, b = "198.51.100.1", "198.51.100.2"
	for i := range 3 {
		if st, code, _ := postAs(t, base, "/registry/operations", a, ""); st == http.StatusTooManyRequests {
			t.Fatalf("POST #%d within the burst = %d %s", i+1, st, code)
		}
	}
	for _, route := range web.UnauthenticatedWrites {
		method, pattern, _ := strings.Cut(route, " ")
		st, code, resp := requestAs(t, method, base, concrete(pattern), a, "")
		if st != http.StatusTooManyRequests || code != httpx.CodeRateLimited || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s past the burst = %d %q (Retry-After %q), want 429 rate_limited with Retry-After", route, st, code, resp.Header.Get("Retry-After"))
		}
	}
	// An escaped slash routes to the same route; the limit sees it so.
	if st, code, _ := postAs(t, base, "/payments/pay/a%2Fb", a, ""); st != http.StatusTooManyRequests {
		t.Errorf("POST /payments/pay/a%%2Fb past the burst = %d %q, want 429", st, code)
	}
	st, _, resp := postAs(t, base, "/meetings/book/x", a, "text/html,application/xhtml+xml")
	page, _ := io.ReadAll(resp.Body)
	if st != http.StatusTooManyRequests || !strings.Contains(string(page), "Please wait") || !strings.Contains(string(page), "请等待") {
		t.Errorf("a browser past the burst = %d %s, want 429 with a page saying how long to wait", st, page)
	}
	for _, other := range []string{b, ""} {
		if st, code, _ := postAs(t, base, "/registry/operations", other, ""); st == http.StatusTooManyRequests {
			t.Errorf("client %q is limited by another client's requests: %d %s", other, st, code)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/meetings/", nil)
	req.Header.Set("X-Forwarded-For", a)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /meetings/ by the limited client = %v %v, want 200 (reads are not limited)", resp.StatusCode, err)
	} else {
		resp.Body.Close()
	}
}

// TestRateLimitIgnoresForgedForwardedFor: without --trusted-proxies a
// client cannot escape its bucket by writing X-Forwarded-For itself.
func TestRateLimitIgnoresForgedForwardedFor(t *testing.T) {
	t.Parallel()
	base, _ := serveLogged(t, "--rate-limit", "0.001", "--rate-limit-burst", "2")
	var got []int
	for i := range 4 {
		st, _, _ := postAs(t, base, "/registry/operations", "203.0.113."+string(rune('1'+i)), "")
		got = append(got, st)
	}
	if got[2] != http.StatusTooManyRequests || got[3] != http.StatusTooManyRequests {
		t.Fatalf("statuses with a fresh forged X-Forwarded-For each time = %v, want 429 after the burst of 2", got)
	}
}

var payFormRE = regexp.MustCompile(`action="/payments/pay/([^"]+)"`)

// openStream opens an event stream and waits for its first line, so the
// server holds it; it returns the status and a func that closes it.
func openStream(t *testing.T, url string) (int, func()) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return resp.StatusCode, func() {}
	}
	if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
		t.Fatalf("stream %s: %v", url, err)
	}
	return resp.StatusCode, func() { resp.Body.Close() }
}

// TestEventStreamsCapped (issue 16, beyond the list): one session's live
// page can be streamed only a few times at once, and all sessions together
// only up to --max-streams; a closed stream frees its slot. Before, any
// number of streams per session were held, each polling the database.
func TestEventStreamsCapped(t *testing.T) {
	t.Parallel()
	base, _ := serveLogged(t, "--demo", "--max-streams-per-session", "2", "--max-streams", "3")
	home := getBody(t, base+"/payments/")
	m := payFormRE.FindStringSubmatch(home)
	if m == nil {
		t.Fatalf("no order to pay on /payments/: %s", home)
	}
	var attempts []string
	for range 3 {
		st, _, resp := postAs(t, base, "/payments/pay/"+m[1], "", "")
		if st != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/payments/attempts/") {
			t.Fatalf("pressing Pay = %d %s", st, resp.Header.Get("Location"))
		}
		attempts = append(attempts, base+resp.Header.Get("Location")+"/events")
	}
	st1, close1 := openStream(t, attempts[0])
	st2, close2 := openStream(t, attempts[0])
	defer close2()
	if st1 != 200 || st2 != 200 {
		t.Fatalf("two streams of one attempt = %d, %d, want 200, 200", st1, st2)
	}
	if st, _ := openStream(t, attempts[0]); st != http.StatusTooManyRequests {
		t.Errorf("a third stream of one attempt = %d, want 429", st)
	}
	stB, closeB := openStream(t, attempts[1])
	defer closeB()
	if stB != 200 {
		t.Fatalf("another attempt's stream = %d, want 200", stB)
	}
	if st, _ := openStream(t, attempts[2]); st != http.StatusServiceUnavailable {
		t.Errorf("a stream past --max-streams = %d, want 503", st)
	}
	close1()
	for deadline := time.Now().Add(20 * time.Second); ; {
		st, c := openStream(t, attempts[2])
		c()
		if st == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed stream's slot was not given back: %d", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRateLimitFlags: bad limits are usage errors, before anything starts.
func TestRateLimitFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--trusted-proxies", "10.0.0.0/8,not-an-address"},
		{"--rate-limit", "-1"},
		{"--rate-limit-burst", "0"},
		{"--max-streams-per-session", "0"},
		{"--max-streams", "0"},
	} {
		code, _, stderr := runTong(t, nil, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, args...)...)
		if code != 2 || !strings.Contains(stderr, args[0]) {
			t.Errorf("tong serve %v: exit %d, stderr %q; want 2 naming %s", args, code, stderr, args[0])
		}
	}
}

// TestInquiryFloodLimitBehindProxy: behind a trusted proxy the inquiry
// flood limit (five questions a client an hour) counts each citizen by the
// address the proxy forwarded, as the rate limit does. Before, it counted
// the proxy's own address, so five questions from anyone behind it
// silenced every other citizen for an hour.
func TestInquiryFloodLimitBehindProxy(t *testing.T) {
	t.Parallel()
	base, _ := serveLogged(t, "--demo", "--trusted-proxies", "127.0.0.1/32")
	var topics struct {
		Topics []struct {
			ID     string   `json:"id"`
			Proofs []string `json:"proofs"`
		} `json:"topics"`
	}
	if err := json.Unmarshal([]byte(getBody(t, base+"/inquiries-api/topics")), &topics); err != nil || len(topics.Topics) == 0 {
		t.Fatalf("topics: %v %+v", err, topics)
	}
	ask := func(xff string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+"/inquiries-api/topics/"+topics.Topics[0].ID+"/questions", strings.NewReader(`{"text":"When is the office open?"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e httpx.ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Error
	}
	const a, b = "198.51.100.7", "198.51.100.8"
	for i := range 5 {
		if st, code := ask(a); st != http.StatusCreated && st != http.StatusOK {
			t.Fatalf("question #%d from %s = %d %s", i+1, a, st, code)
		}
	}
	if st, code := ask(a); st != http.StatusTooManyRequests || code != "rate_limited" {
		t.Fatalf("sixth question from %s = %d %s, want 429 rate_limited", a, st, code)
	}
	if st, code := ask(b); st != http.StatusCreated && st != http.StatusOK {
		t.Fatalf("first question from another citizen behind the proxy = %d %s, want it taken", st, code)
	}
}
