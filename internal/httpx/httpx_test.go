package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tongid/tong/internal/store"
)

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) ErrorBody {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	var body ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q is not JSON: %v", rec.Body.String(), err)
	}
	return body
}

func TestWriteErrorMapping(t *testing.T) {
	t.Parallel()
	secret := errors.New("db password is hunter2")
	for _, tc := range []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantDesc   string
	}{
		{"typed 400", E(400, "invalid_grant", "code expired"), 400, "invalid_grant", "code expired"},
		{"wrapped typed", fmt.Errorf("token: %w", E(401, "invalid_client", "bad token")), 401, "invalid_client", "bad token"},
		{"typed with cause", Wrap(409, "conflict", "head moved", secret), 409, "conflict", "head moved"},
		{"typed 5xx hides description", Wrap(503, CodeUnavailable, "db down: "+secret.Error(), secret), 503, CodeUnavailable, ""},
		{"untyped is 500", secret, 500, CodeServerError, ""},
		{"bad status is 500", E(200, "weird", "x"), 500, CodeServerError, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			WriteError(rec, httptest.NewRequest("GET", "/", nil), tc.err)
			if rec.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tc.wantStatus)
			}
			body := decodeError(t, rec)
			if body.Error != tc.wantCode || body.ErrorDescription != tc.wantDesc {
				t.Errorf("body = %+v, want code %q desc %q", body, tc.wantCode, tc.wantDesc)
			}
			if strings.Contains(rec.Body.String(), "hunter2") {
				t.Errorf("response leaks the cause: %s", rec.Body.String())
			}
		})
	}
}

type payload struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func readHandler(limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p payload
		if err := ReadJSONLimit(w, r, limit, &p); err != nil {
			WriteError(w, r, err)
			return
		}
		WriteJSON(w, r, 200, p)
	})
}

func TestReadJSON(t *testing.T) {
	t.Parallel()
	big := `{"name":"` + strings.Repeat("x", 2000) + `"}`
	for _, tc := range []struct {
		name, ct, body string
		chunked        bool
		wantStatus     int
		wantCode       string
	}{
		{"ok", "application/json", `{"name":"a","n":1,"extra":true}`, false, 200, ""},
		{"malformed", "application/json", `{"name":`, false, 400, CodeInvalidRequest},
		{"syntax", "application/json", `{"name" "a"}`, false, 400, CodeInvalidRequest},
		{"wrong type", "application/json", `{"n":"one"}`, false, 400, CodeInvalidRequest},
		{"two values", "application/json", `{"n":1}{"n":2}`, false, 400, CodeInvalidRequest},
		{"empty", "application/json", ``, false, 400, CodeInvalidRequest},
		{"too large by length", "application/json", big, false, 413, CodeBodyTooLarge},
		{"too large chunked", "application/json", big, true, 413, CodeBodyTooLarge},
		{"not json", "text/plain", `{"n":1}`, false, 415, CodeUnsupportedMediaType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var body io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				body = io.MultiReader(body) // hides the length
			}
			req := httptest.NewRequest("POST", "/", body)
			if tc.chunked {
				req.ContentLength = -1
			}
			req.Header.Set("Content-Type", tc.ct)
			rec := httptest.NewRecorder()
			readHandler(1024).ServeHTTP(rec, req)
			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", rec.Code, tc.wantStatus, rec.Body)
			}
			if tc.wantCode != "" {
				if got := decodeError(t, rec).Error; got != tc.wantCode {
					t.Errorf("code = %q, want %q", got, tc.wantCode)
				}
			}
		})
	}
}

func TestRecoverHidesPanic(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	h := WithRequestID(logger)(Recover(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("secret-panic-value")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	body := decodeError(t, rec)
	if body.Error != CodeServerError || body.RequestID == "" {
		t.Errorf("body = %+v, want server_error with a request_id", body)
	}
	if strings.Contains(rec.Body.String(), "secret-panic-value") || strings.Contains(rec.Body.String(), "goroutine") {
		t.Errorf("500 body leaks the panic: %s", rec.Body)
	}
	if !strings.Contains(logs.String(), "secret-panic-value") || !strings.Contains(logs.String(), body.RequestID) {
		t.Errorf("log lacks the panic or request id: %s", logs.String())
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	h := WithRequestID(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, RequestID(r.Context()))
	}))
	for _, tc := range []struct {
		in       string
		wantKept bool
	}{
		{"abc-123", true},
		{"", false},
		{"evil\nlog line", false},
		{strings.Repeat("a", 65), false},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set(RequestIDHeader, tc.in)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Body.String()
		if (got == tc.in) != tc.wantKept || got == "" || rec.Header().Get(RequestIDHeader) != got {
			t.Errorf("RequestID(in %q) = %q, kept=%v want kept=%v", tc.in, got, got == tc.in, tc.wantKept)
		}
	}
}

func TestMetricsPerRoute(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, func(r *http.Request) string { return r.Pattern })
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	h := m.Handler(mux)
	for _, p := range []string{"/items/1", "/items/2", "/nope"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("GET /items/{id}", "GET", "204")); got != 2 {
		t.Errorf("requests{GET /items/{id}} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("unmatched", "GET", "404")); got != 1 {
		t.Errorf("requests{unmatched} = %v, want 1", got)
	}
}

// A request in flight when shutdown starts completes with its full answer;
// new connections are refused afterwards.
func TestGracefulShutdownWithRequestInFlight(t *testing.T) {
	t.Parallel()
	entered := make(chan struct{})
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "finished")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, NewServer(h, nil), ln) }()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-entered
	cancel() // SIGTERM arrives while the request is running
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v before the in-flight request finished", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	r := <-got
	if r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request = %q, %v; want finished", r.body, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve = %v, want nil after graceful shutdown", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Errorf("listener still accepts after shutdown")
	}
}

// TestContendedIs503: a transaction that lost every retry to other writers
// (PostgreSQL under heavy contention) is "busy, try again", a 503 with
// Retry-After, not a 500. Before, it was a bare 500 server_error.
func TestContendedIs503(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("issue: %w", &store.ContendedError{Attempts: store.MaxTxAttempts, Err: errors.New("40001")})
	rec := httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest(http.MethodPost, "/credential", nil), err)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("status %d, Retry-After %q; want 503 and 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	if !strings.Contains(rec.Body.String(), `"error":"temporarily_unavailable"`) {
		t.Fatalf("body %s", rec.Body)
	}
}
