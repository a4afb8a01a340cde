package httpx

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGuardHeaders: a header value or name holding NUL, CR or LF is never
// written; the response becomes a 500 without it, on a real connection.
func TestGuardHeaders(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(WithRequestID(nil)(GuardHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo", r.URL.Query().Get("v"))
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprint(w, "body the client must not see")
	}))))
	defer srv.Close()
	for _, tc := range []struct {
		v      string
		status int
	}{
		{"plain", http.StatusTeapot},
		{"a%00b", http.StatusInternalServerError},
		{"a%0d%0aSet-Cookie:%20x=1", http.StatusInternalServerError},
		{"a%0ab", http.StatusInternalServerError},
	} {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /?v=%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", tc.v)
		raw, _ := io.ReadAll(c)
		c.Close()
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(raw))), nil)
		if err != nil {
			t.Fatalf("v=%s: unreadable response %q: %v", tc.v, raw, err)
		}
		if resp.StatusCode != tc.status {
			t.Errorf("v=%s: status %d, want %d", tc.v, resp.StatusCode, tc.status)
		}
		if tc.status == http.StatusInternalServerError {
			if strings.Contains(string(raw), "Set-Cookie") || strings.Contains(string(raw), "\x00") || strings.Contains(string(raw), "must not see") || resp.Header.Get("X-Echo") != "" {
				t.Errorf("v=%s: the refused header or body was sent: %q", tc.v, raw)
			}
		}
	}
}

func TestRedirectRefusesControlBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		target string
		status int
	}{
		{"/explorer/did/did:tong:abc", http.StatusSeeOther},
		{"/explorer/did/a\x00b", http.StatusBadRequest},
		{"/a\r\nSet-Cookie: x=1", http.StatusBadRequest},
	} {
		rec := httptest.NewRecorder()
		Redirect(rec, httptest.NewRequest("GET", "/", nil), tc.target, http.StatusSeeOther)
		if rec.Code != tc.status {
			t.Errorf("Redirect(%q) = %d, want %d", tc.target, rec.Code, tc.status)
		}
		if tc.status == http.StatusBadRequest && (rec.Header().Get("Location") != "" || decodeError(t, rec).Error != CodeInvalidRedirect) {
			t.Errorf("Redirect(%q): Location %q, body %s; want none and %s", tc.target, rec.Header().Get("Location"), rec.Body, CodeInvalidRedirect)
		}
	}
}

func TestMethodLabel(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "get": LabelOther, "BREW": LabelOther, "": LabelOther, "G\x00T": LabelOther} {
		if got := methodLabel(in); got != want {
			t.Errorf("methodLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWriteDeadlineStream: an event stream outlives the ordinary write
// deadline (its deadline moves on at each flush), while an ordinary
// response that the client does not read is cut at its deadline.
func TestWriteDeadlineStream(t *testing.T) {
	t.Parallel()
	const short = 300 * time.Millisecond
	mux := http.NewServeMux()
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ContentTypeEventStream)
		for i := range 8 {
			fmt.Fprintf(w, "data: %d\n\n", i)
			if err := http.NewResponseController(w).Flush(); err != nil {
				return
			}
			time.Sleep(short / 2)
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		chunk := strings.Repeat("x", 64<<10)
		for range 1024 { // 64 MiB: more than any socket buffer
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/poll", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(3 * short) // a long poll: the answer comes after the deadline
		fmt.Fprint(w, "answer")
	})
	srv := httptest.NewServer(WriteDeadline(short, 10*time.Second)(mux))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || strings.Count(string(body), "data: ") != 8 {
		t.Errorf("event stream = %q, %v; want all 8 events, past the %v write deadline", body, err, short)
	}

	resp, err = http.Get(srv.URL + "/poll")
	if err != nil {
		t.Fatal(err)
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "answer" {
		t.Errorf("long poll = %q, %v; want its answer, written after the request's first %v", body, err, short)
	}

	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(4 * short) // read nothing until the deadline has passed
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() || n >= 64<<20 {
		t.Errorf("a non-reading client got %d bytes then %v; want the connection cut at the write deadline", n, err)
	}
}

func TestLimitBody(t *testing.T) {
	t.Parallel()
	h := LimitBody(1024)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			WriteError(w, r, tooLarge(1024))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	for _, tc := range []struct {
		name   string
		body   io.Reader
		length int64
		status int
	}{
		{"small", strings.NewReader("a=1"), 3, http.StatusNoContent},
		{"declared too large", strings.NewReader(strings.Repeat("a", 2048)), 2048, http.StatusRequestEntityTooLarge},
		{"chunked too large", io.MultiReader(strings.NewReader(strings.Repeat("a", 2048))), -1, http.StatusRequestEntityTooLarge},
	} {
		req := httptest.NewRequest("POST", "/", tc.body)
		req.ContentLength = tc.length
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, rec.Code, tc.status)
		}
	}
}

// TestConnLimit: over the cap with nothing idle, a newcomer gets a 503
// and a warning is logged; the slot comes back when a connection closes.
func TestConnLimit(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	lim := NewConnLimit(ln, 1, 0, slog.New(slog.NewTextHandler(logs, nil)))
	srv, states := serveLimited(lim)
	defer srv.Close()
	first, err := net.Dial("tcp", ln.Addr().String()) // silent: not idle, holds the slot
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, states, http.StateNew)
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("over the cap: %d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "connection limit reached") {
		t.Errorf("no warning logged: %q", logs.String())
	}
	first.Close()
	waitState(t, states, http.StateClosed)
	resp, err = http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after the silent connection closed: %d, want 200", resp.StatusCode)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestConnLimitPerAddr: one address holds at most its share; its own idle
// connection makes room for its newcomer, a busy one does not.
func TestConnLimitPerAddr(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lim := NewConnLimit(ln, 100, 1, slog.New(slog.DiscardHandler))
	srv, states := serveLimited(lim)
	defer srv.Close()
	addr := ln.Addr().String()

	busy, err := net.Dial("tcp", addr) // silent: holds 127.0.0.1's one slot
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, states, http.StateNew)
	if resp, err := http.Get("http://" + addr + "/"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second connection from one address: %v %v, want 503", resp, err)
	}
	busy.Close()
	waitState(t, states, http.StateClosed)

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprint(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, err := http.ReadResponse(bufio.NewReader(idle), nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("first request: %v %v", resp, err)
	}
	waitState(t, states, http.StateIdle)
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get("http://" + addr + "/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("a newcomer from an address whose one connection is idle: %v %v, want 200", resp, err)
	}
}

// serveLimited serves on lim, reporting each connection state change
// (after lim has seen it) on the returned channel.
func serveLimited(lim *ConnLimit) (*http.Server, <-chan http.ConnState) {
	states := make(chan http.ConnState, 64)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
		ConnState: func(c net.Conn, st http.ConnState) {
			lim.ConnState(c, st)
			select {
			case states <- st:
			default:
			}
		}}
	go func() { _ = srv.Serve(lim) }()
	return srv, states
}

func waitState(t *testing.T, states <-chan http.ConnState, want http.ConnState) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case st := <-states:
			if st == want {
				return
			}
		case <-timeout:
			t.Fatalf("no connection reached state %v", want)
		}
	}
}
