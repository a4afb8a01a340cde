package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

func TestOperationalEndpoints(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		db     error
		path   string
		method string
		status int
		want   string
	}{
		{"healthz", nil, "/healthz", "GET", 200, `"ok"`},
		{"readyz", nil, "/readyz", "GET", 200, `"ready"`},
		{"readyz db down", errors.New("disk on fire"), "/readyz", "GET", 503, `"temporarily_unavailable"`},
		{"landing", nil, "/", "GET", 200, "Tong"},
		{"static", nil, "/static/tong.css", "GET", 200, "{"},
		{"unknown", nil, "/nope", "GET", 404, `"not_found"`},
		{"cross-site form", nil, "/form/", "POST", 403, ""},
		{"same-origin form", nil, "/form/", "POST", 200, "posted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			form := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "posted") })
			s, err := New(Config{DB: pinger{tc.db}, Logger: slog.New(slog.DiscardHandler), Pages: []Mount{{Pattern: "/form", Handler: form}}})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(tc.method, tc.path, nil)
			if tc.name == "cross-site form" {
				req.Header.Set("Sec-Fetch-Site", "cross-site")
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tc.status || !strings.Contains(string(body), tc.want) {
				t.Errorf("%s %s = %d %q, want %d containing %q", tc.method, tc.path, rec.Code, body, tc.status, tc.want)
			}
			if strings.Contains(string(body), "disk on fire") {
				t.Errorf("%s leaks the cause: %q", tc.path, body)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{},
		{DB: pinger{}, APIs: []Mount{{Pattern: "registry", Handler: http.NotFoundHandler()}}},
		{DB: pinger{}, Pages: []Mount{{Pattern: "/x"}}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error, want a configuration error", cfg)
		}
	}
}
