package inquiriesapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tongid/tong/services/inquiries"
	"github.com/tongid/tong/services/inquiries/sqlstore"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/web/inquiriesapi"
)

type api struct {
	t   *testing.T
	c   *tongtest.City
	url string
}

func newAPI(t *testing.T) (*api, string) {
	c := tongtest.New(t, tongtest.Options{})
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, c.DB)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := inquiries.New(inquiries.Config{Store: st, Secret: make([]byte, 32), Limits: inquiries.Limits{PerClientPerHour: 3}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range inquiriesapi.Prefixes {
		c.Mux.Handle(p, inquiriesapi.New(svc, c.Issuer, c.URL).Routes())
	}
	housing, _, err := c.Issuer.CreateAPIToken(ctx, "housing", "test", "inquiries desk")
	if err != nil {
		t.Fatal(err)
	}
	return &api{t: t, c: c, url: c.URL + "/inquiries-api"}, housing
}

// call sends a JSON request and decodes the answer into out (if not nil).
func (a *api) call(method, path, token string, body any, out any) (int, map[string]any) {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.url+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.c.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
		a.t.Errorf("429 without Retry-After")
	}
	return resp.StatusCode, m
}

type threadResp struct {
	Inquiry  inquiries.Inquiry   `json:"inquiry"`
	Messages []inquiries.Message `json:"messages"`
}

func TestAPIFlowAndIsolation(t *testing.T) {
	a, housing := newAPI(t)
	psb := a.c.IssuerToken

	var topic inquiries.Topic
	if st, m := a.call("POST", "/agency/topics", housing, inquiries.NewTopic{Name: "Housing subsidy", ReplyHours: 48, Anonymous: true}, &topic); st != 201 {
		t.Fatalf("publish: %d %v", st, m)
	}
	var topics struct{ Topics []inquiries.Topic }
	if st, _ := a.call("GET", "/topics?agency=housing", "", nil, &topics); st != 200 || len(topics.Topics) != 1 {
		t.Fatalf("topics: %d %+v", st, topics)
	}
	st, m := a.call("POST", "/topics/"+topic.ID+"/questions", "", map[string]any{"text": "Can I apply while renting?"}, nil)
	if st != 201 {
		t.Fatalf("ask: %d %v", st, m)
	}
	ref, tok := m["reference"].(string), m["token"].(string)
	if !strings.HasPrefix(tok, inquiries.TokenPrefix) || !strings.HasSuffix(m["thread_url"].(string), "/inquiries/t/"+tok) || m["status"] != "new" {
		t.Fatalf("ask answered %v", m)
	}

	// Agency B (the PSB) cannot read, answer or close agency A's inquiry,
	// and its queue is empty.
	for _, c := range []struct{ method, path string }{{"GET", "/agency/inquiries/" + ref}, {"POST", "/agency/inquiries/" + ref + "/answer"}, {"POST", "/agency/inquiries/" + ref + "/close"}} {
		if st, m := a.call(c.method, c.path, psb, map[string]any{"text": "hi"}, nil); st != 404 || m["error"] != "not_found" {
			t.Errorf("PSB %s %s = %d %v, want 404 not_found", c.method, c.path, st, m)
		}
	}
	var q struct {
		Counts    inquiries.Counts
		Inquiries []inquiries.Inquiry
	}
	if st, _ := a.call("GET", "/agency/inquiries", psb, nil, &q); st != 200 || len(q.Inquiries) != 0 || q.Counts.Open != 0 {
		t.Errorf("PSB's queue: %d %+v", st, q)
	}
	if st, _ := a.call("GET", "/agency/inquiries", housing, nil, &q); st != 200 || len(q.Inquiries) != 1 || q.Counts.New != 1 {
		t.Errorf("housing's queue: %d %+v", st, q)
	}

	// Housing answers; the citizen reads it and replies.
	if st, m := a.call("POST", "/agency/inquiries/"+ref+"/answer", housing, map[string]any{"text": "Yes, with a lease.", "more_info": false}, nil); st != 200 {
		t.Fatalf("answer: %d %v", st, m)
	}
	var th threadResp
	if st, _ := a.call("GET", "/thread", tok, nil, &th); st != 200 || th.Inquiry.Status != "answered" || len(th.Messages) != 2 || th.Messages[1].Body != "Yes, with a lease." {
		t.Fatalf("thread: %d %+v", st, th)
	}
	if th.Inquiry.Assignee != "" || th.Messages[1].Staff != "" {
		t.Errorf("the citizen sees staff ids: %+v", th)
	}
	if st, _ := a.call("POST", "/thread/messages", tok, map[string]any{"text": "Thank you"}, &th); st != 200 || th.Inquiry.Status != "assigned" {
		t.Errorf("reply: %d %+v", st, th)
	}
	if st, _ := a.call("POST", "/agency/inquiries/"+ref+"/close", housing, nil, nil); st != 200 {
		t.Errorf("close: %d", st)
	}
	if st, m := a.call("POST", "/thread/messages", tok, map[string]any{"text": "again"}, nil); st != 409 || m["error"] != "inquiry_closed" {
		t.Errorf("reply after close: %d %v", st, m)
	}
}

func TestAPIBadInput(t *testing.T) {
	a, housing := newAPI(t)
	var topic inquiries.Topic
	a.call("POST", "/agency/topics", housing, inquiries.NewTopic{Name: "Housing", ReplyHours: 24, Anonymous: true}, &topic)
	cases := []struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}{
		{"no staff token", "GET", "/agency/inquiries", "", nil, 401, "unauthorized"},
		{"a citizen token as staff", "GET", "/agency/inquiries", "tong_iq_abc", nil, 401, "unauthorized"},
		{"unknown status", "GET", "/agency/inquiries?status=lost", housing, nil, 400, "invalid_request"},
		{"text too long", "POST", "/topics/" + topic.ID + "/questions", "", map[string]any{"text": strings.Repeat("x", inquiries.MaxText+1)}, 400, "invalid_request"},
		{"body too large", "POST", "/topics/" + topic.ID + "/questions", "", map[string]any{"text": strings.Repeat("x", inquiriesapi.MaxBody)}, 413, "request_too_large"},
		{"not JSON", "POST", "/topics/" + topic.ID + "/questions", "", json.RawMessage(`{`), 400, "invalid_request"},
		{"no such topic", "POST", "/topics/top_x/questions", "", map[string]any{"text": "q"}, 404, "not_found"},
		{"unknown proof", "POST", "/agency/topics", housing, map[string]any{"name": "x", "reply_hours": 1, "proofs": []string{"name"}}, 400, "invalid_request"},
		{"no token for the thread", "GET", "/thread", "", nil, 404, "not_found"},
		{"a wrong token", "GET", "/thread", "tong_iq_" + strings.Repeat("A", 43), nil, 404, "not_found"},
		{"unknown action", "POST", "/agency/inquiries/INQ-X/delete", housing, nil, 404, "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body any = tc.body
			if raw, ok := tc.body.(json.RawMessage); ok {
				body = nil
				req, _ := http.NewRequest(tc.method, a.url+tc.path, bytes.NewReader(raw))
				req.Header.Set("Content-Type", "application/json")
				resp, err := a.c.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var m map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&m)
				if resp.StatusCode != tc.status || m["error"] != tc.code {
					t.Errorf("%s %s = %d %v, want %d %s", tc.method, tc.path, resp.StatusCode, m, tc.status, tc.code)
				}
				return
			}
			if st, m := a.call(tc.method, tc.path, tc.token, body, nil); st != tc.status || m["error"] != tc.code {
				t.Errorf("%s %s = %d %v, want %d %s", tc.method, tc.path, st, m, tc.status, tc.code)
			}
		})
	}
	// The fourth question from one client within the hour is refused.
	for i := range 4 {
		st, m := a.call("POST", "/topics/"+topic.ID+"/questions", "", map[string]any{"text": "q"}, nil)
		if i < 3 && st != 201 {
			t.Fatalf("question %d: %d %v", i, st, m)
		}
		if i == 3 && (st != 429 || m["error"] != "rate_limited") {
			t.Errorf("fourth question: %d %v, want 429 rate_limited", st, m)
		}
	}
}
