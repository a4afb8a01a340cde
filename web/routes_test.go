package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/tongid/tong/services/inquiries"
	"github.com/tongid/tong/services/inquiries/sqlstore"
	"github.com/tongid/tong/services/meetings"
	"github.com/tongid/tong/services/payments"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/web"
	inqapi "github.com/tongid/tong/web/inquiriesapi"
)

// authenticatedWrites are the state-changing routes that need a
// credential; each answers a request without one with 401 or 403 and
// changes nothing (checked below).
var authenticatedWrites = map[string]string{
	"POST /agency/issue/{type}":                                    "agency sign-in cookie",
	"POST /agency/credentials/{id}/{action}":                       "agency sign-in cookie",
	"POST /counter/sessions":                                       "counter sign-in cookie",
	"POST /meetings/official/{id}/slots":                           "agency sign-in cookie",
	"POST /issuers/{agency}/credential":                            "access token",
	"POST /issuers/{agency}/deferred_credential":                   "access token",
	"POST /issuers/{agency}/notification":                          "access token",
	"PUT /issuers/{agency}/api/types/{type}":                       "staff token",
	"POST /issuers/{agency}/api/offers":                            "staff token",
	"POST /issuers/{agency}/api/credentials/{credential}/{action}": "staff token",
	"POST /issuers/{agency}/api/tokens":                            "staff token",
	"DELETE /issuers/{agency}/api/tokens/{token}":                  "staff token",
	"POST /verifier/sessions":                                      "counter token",
	"POST /agency/inquiries/topics":                                "agency sign-in cookie",
	"POST /agency/inquiries/topics/{id}/close":                     "agency sign-in cookie",
	"POST /agency/inquiries/{ref}/{action}":                        "agency sign-in cookie",
	"POST /inquiries-api/agency/topics":                            "staff token",
	"POST /inquiries-api/agency/topics/{id}/close":                 "staff token",
	"POST /inquiries-api/agency/inquiries/{ref}/{action}":          "staff token",
}

// mergedRouter builds the router as tong serve does: every API mounted
// under its prefixes, and every page.
func mergedRouter(t *testing.T) (*tongtest.City, *web.Server) {
	t.Helper()
	c := tongtest.New(t, tongtest.Options{})
	ctx := context.Background()
	bookCtr, _ := c.Verifier.Authenticate(ctx, c.CounterTokens["meeting-booking"])
	checkCtr, _ := c.Verifier.Authenticate(ctx, c.CounterTokens["meeting-checkin"])
	payCtr, _ := c.Verifier.Authenticate(ctx, c.CounterTokens["pay-fee"])
	ms, err := meetings.New(ctx, meetings.Config{DB: c.DB, Verifier: c.Verifier, Booking: bookCtr, CheckIn: checkCtr, Secret: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	inqCtr, _, err := c.Verifier.AddCounter(ctx, "dongcheng", "inquiries", inquiries.Purposes())
	if err != nil {
		t.Fatal(err)
	}
	inqStore, err := sqlstore.Open(ctx, c.DB)
	if err != nil {
		t.Fatal(err)
	}
	inq, err := inquiries.New(inquiries.Config{Store: inqStore, Verifier: c.Verifier, Counter: inqCtr, Secret: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	hallKey, _ := c.Keys.Load("org-dongcheng")
	ps, err := payments.New(ctx, payments.Config{DB: c.DB, Verifier: c.Verifier, Counter: payCtr, Payee: "Dongcheng hall", Signer: hallKey,
		KeyID: c.HallDID + "#key-1", Issuer: c.HallDID, Secret: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	var apis []web.Mount
	if err := chi.Walk(c.Mux, func(method, route string, h http.Handler, _ ...func(http.Handler) http.Handler) error {
		if !slices.ContainsFunc(apis, func(m web.Mount) bool { return m.Pattern == route }) {
			apis = append(apis, web.Mount{Pattern: route, Handler: h})
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	inqAPI := inqapi.New(inq, c.Issuer, c.URL).Routes()
	for _, p := range inqapi.Prefixes {
		apis = append(apis, web.Mount{Pattern: p, Handler: inqAPI})
	}
	srv, err := web.New(web.Config{DB: c.DB, PublicURL: c.URL, Issuer: c.Issuer, Verifier: c.Verifier, APIs: apis,
		Meetings: ms, Payments: ps, Inquiries: inq, MeetingsBookingCounter: bookCtr.ID, MeetingsCheckinCounter: checkCtr.ID, PaymentsCounter: payCtr.ID,
		Explorer: &web.Explorer{Log: c.Log, LogKey: c.LogKey}})
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

// walkAll lists every "METHOD /pattern" of h, descending into mounted
// handlers that are routers themselves (the APIs see the full path).
func walkAll(t *testing.T, h http.Handler) []string {
	t.Helper()
	seen := map[string]bool{}
	var visit func(r chi.Routes)
	walked := map[http.Handler]bool{}
	visit = func(r chi.Routes) {
		err := chi.Walk(r, func(method, route string, h http.Handler, _ ...func(http.Handler) http.Handler) error {
			if sub, ok := h.(chi.Routes); ok && strings.HasSuffix(route, "/*") && route != "/static/*" {
				if !walked[h] {
					walked[h] = true
					visit(sub)
				}
				return nil
			}
			seen[method+" "+strings.ReplaceAll(route, "/*/", "/")] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	visit(h.(chi.Routes))
	var out []string
	for r := range seen {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// TestEveryRouteIsClassified (issue 16, route audit): every route of the
// merged router is in docs/threat-model.md's route audit; every route
// that can change state is either rate limited (web.UnauthenticatedWrites)
// or needs a credential, and then refuses a request without one; every
// event stream is capped (web.EventStreams). A route added without that
// thought fails here.
func TestEveryRouteIsClassified(t *testing.T) {
	_, srv := mergedRouter(t)
	routes := walkAll(t, srv.Handler())
	if len(routes) < 60 {
		t.Fatalf("the walk found %d routes; the APIs were not descended into: %v", len(routes), routes)
	}
	doc, err := os.ReadFile("../docs/threat-model.md")
	if err != nil {
		t.Fatal(err)
	}
	_, audit, ok := strings.Cut(string(doc), "## Route audit (issue 16)")
	if !ok {
		t.Fatal(`docs/threat-model.md has no "## Route audit (issue 16)" section`)
	}
	if i := strings.Index(audit, "\n## "); i >= 0 {
		audit = audit[:i]
	}
	writes, streams := map[string]bool{}, map[string]bool{}
	for _, r := range web.UnauthenticatedWrites {
		writes[r] = true
	}
	for _, r := range web.EventStreams {
		streams[r] = true
	}
	for _, r := range routes {
		method, pattern, _ := strings.Cut(r, " ")
		if !strings.Contains(audit, "`"+r+"`") {
			t.Errorf("route %s is not in the route audit of docs/threat-model.md", r)
		}
		// GET, HEAD and OPTIONS (a CORS preflight) are safe methods
		// (RFC 9110 §9.2.1); every handler of them here only reads.
		safe := method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
		if !safe && !writes[r] && authenticatedWrites[r] == "" {
			t.Errorf("route %s changes state but is neither rate limited (web.UnauthenticatedWrites) nor authenticated", r)
		}
		if strings.HasSuffix(pattern, "/events") && !streams[r] {
			t.Errorf("event stream %s is not capped (web.EventStreams)", r)
		}
	}
	for _, list := range []map[string]bool{writes, streams} {
		for r := range list {
			if !slices.Contains(routes, r) {
				t.Errorf("%s is listed but no such route exists", r)
			}
		}
	}
	// Without its credential, an authenticated write is refused.
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	// Static files answer GET and HEAD only (the file server served a
	// POST, a PUT or a DELETE the file, as if it had done something).
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(m, hs.URL+"/static/"+staticFile(t), nil)
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /static/%s = %d, want 405", m, staticFile(t), resp.StatusCode)
		}
	}
	for r, cred := range authenticatedWrites {
		if !slices.Contains(routes, r) {
			t.Errorf("%s is listed as authenticated but no such route exists", r)
			continue
		}
		method, pattern, _ := strings.Cut(r, " ")
		path := regexp.MustCompile(`\{[^}]+\}`).ReplaceAllStringFunc(pattern, func(p string) string {
			if p == "{agency}" {
				return "psb" // an agency that exists: the check is the credential's
			}
			return "x"
		})
		req, _ := http.NewRequest(method, hs.URL+path, strings.NewReader(""))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s without its %s = %d, want 401 or 403", r, cred, resp.StatusCode)
		}
	}
}

// staticFile is the name of one embedded static file.
func staticFile(t *testing.T) string {
	t.Helper()
	es, err := os.ReadDir("static")
	if err != nil || len(es) == 0 {
		t.Fatalf("no static files: %v", err)
	}
	for _, e := range es {
		if !e.IsDir() {
			return e.Name()
		}
	}
	t.Fatal("no static file")
	return ""
}

// TestErrorPagesKeepSecurityHeaders (issue 16, route audit): a page
// answered with an error status (a booking of a slot that does not
// exist, a write without sign-in) still carries the Content-Security-
// Policy, nosniff and no-referrer headers. Before, handlers wrote the
// status first and render's headers came too late to be sent.
func TestErrorPagesKeepSecurityHeaders(t *testing.T) {
	t.Parallel()
	_, srv := mergedRouter(t)
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	for _, path := range []string{"/meetings/book/slot_none", "/meetings/official/off_none/slots", "/counter/sessions", "/meetings/cancel"} {
		resp, err := hs.Client().PostForm(hs.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("POST %s = %d, want an error status", path, resp.StatusCode)
		}
		if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("POST %s = %d without the page security headers: %v", path, resp.StatusCode, resp.Header)
		}
	}
}
