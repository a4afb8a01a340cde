// Package web serves Tong's pages and mounts every service's HTTP API on one
// router: the registry, the issuer, the verifier and the citizen services.
//
// It owns the plumbing that all of them share (request IDs, panic recovery,
// access log, metrics, cross-origin protection for browser forms) and the
// operational endpoints:
//
//   - GET /healthz: the process is up (always 200 while it serves).
//   - GET /readyz: the database answers; 503 otherwise.
//   - GET /metrics: Prometheus metrics, requests and latency per route.
//
// Pages are rendered with html/template from embedded files; there is no
// JavaScript build step and no third-party CDN.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tongid/tong/internal/httpx"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/services/inquiries"
	"github.com/tongid/tong/services/meetings"
	"github.com/tongid/tong/services/payments"
	"github.com/tongid/tong/verifier"
	"github.com/tongid/tong/web/walletapp"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// MaxBody is the largest request body any route accepts; each API sets a
// smaller limit of its own. MaxMetricsScrapes is how many /metrics
// requests are served at once.
const (
	MaxBody           = 1 << 20
	MaxMetricsScrapes = 4
)

// Pinger is what /readyz asks: does the database answer?
type Pinger interface {
	Ping(ctx context.Context) error
}

// Mount is one service API. Its handler sees the full request path and
// routes on it; Pattern is a chi pattern such as "/log/*".
type Mount struct {
	Pattern string
	Handler http.Handler
}

// Config is what New needs. DB is required; the rest has defaults.
type Config struct {
	DB     Pinger
	Logger *slog.Logger
	// Metrics receives the HTTP metrics; nil means a fresh registry.
	Metrics *prometheus.Registry
	// PublicURL is the URL at which users reach this server.
	PublicURL string
	// Demo says whether demo data was seeded; the landing page then shows
	// the walkthrough.
	Demo bool
	// APIs are mounted as they are, in order.
	APIs []Mount
	// Pages are browser routes: they get cross-origin protection.
	Pages []Mount
	// Issuer and Verifier, when set, get their pages: the agency console
	// (/agency/) and the counter screen (/counter/).
	Issuer   *issuer.Service
	Verifier *verifier.Service
	// Meetings and Payments, when set, get the citizen pages /meetings/
	// and /payments/; the counter ids are those the services ask through.
	Meetings *meetings.Service
	Payments *payments.Service
	// Inquiries, when set, gets the citizen pages /inquiries/ and the
	// staff queue /agency/inquiries.
	Inquiries *inquiries.Service
	// Explorer, when set, serves the registry explorer at /explorer/.
	Explorer               *Explorer
	MeetingsBookingCounter string
	MeetingsCheckinCounter string
	PaymentsCounter        string
	// WriteTimeout bounds the time a response may take to be written, and
	// StreamWriteTimeout the time each server-sent event may take; zero
	// means httpx.DefaultWriteTimeout and httpx.DefaultStreamWriteTimeout.
	WriteTimeout       time.Duration
	StreamWriteTimeout time.Duration
	// AccessLog, when set, receives one line per request at info level;
	// otherwise the lines go to Logger at debug level.
	AccessLog *slog.Logger
	// Wallet is the wallet web app served at /wallet/; nil means the
	// embedded one, for a registry on this origin.
	Wallet *walletapp.App

	// RateLimit limits, per client, the routes in UnauthenticatedWrites;
	// the zero value means httpx's defaults (PerMinute < 0 turns it off).
	RateLimit httpx.RateLimitConfig
	// StreamsPerSession and MaxStreams cap the EventStreams open at once
	// for one session and in all; zero means httpx.DefaultStreamsPerKey
	// and httpx.DefaultMaxStreams.
	StreamsPerSession, MaxStreams int
}

// UnauthenticatedWrites lists every route that a request carrying no
// credential (no staff or counter token, no access token, no sign-in
// cookie) may call to change state or to spend something: start a
// verifier session, write a row, try a PIN or a token, sign. Each is
// limited per client by an [httpx.RateLimiter], in one bucket per
// client. A route of that kind that is added to the router needs a line
// here: TestEveryRouteIsClassified fails until it has one.
var UnauthenticatedWrites = []string{
	"POST /agency/signin",
	"POST /agency/signout",
	"POST /counter/signin",
	"POST /counter/signout",
	"POST /meetings/book/{slot}",
	"POST /meetings/cancel",
	"POST /meetings/checkin",
	"POST /payments/pay/{id}",
	"POST /registry/operations",
	"POST /verifier/requests/{id}",
	"POST /verifier/response/{id}",
	"POST /issuers/{agency}/token",
	"POST /issuers/{agency}/nonce",
	"POST /issuers/{agency}/par",
	"GET /issuers/{agency}/authorize",
	"GET /issuers/{agency}/authorize/{authz}/done",
	"POST /inquiries/topics/{id}",
	"POST /inquiries/t/{token}/reply",
	"POST /inquiries-api/topics/{id}/questions",
	"POST /inquiries-api/thread/messages",
}

// EventStreams lists the server-sent event routes. Each is capped per
// session (its path) and in total by an [httpx.StreamLimit].
var EventStreams = []string{
	"GET /meetings/bookings/{id}/events",
	"GET /meetings/checkin/{number}/events",
	"GET /payments/attempts/{id}/events",
	"GET /counter/sessions/{id}/events",
	"GET /verifier/sessions/{id}/events",
	"GET /inquiries/t/{token}/events",
	"GET /agency/inquiries/{ref}/events",
}

// routeSet matches requests against a list of "METHOD /pattern" lines.
type routeSet struct{ mux *chi.Mux }

func newRouteSet(lines []string) routeSet {
	mux := chi.NewRouter()
	nop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, l := range lines {
		method, pattern, _ := strings.Cut(l, " ")
		mux.Method(method, pattern, nop)
	}
	return routeSet{mux}
}

// has matches the path the router routes on (chi takes the raw path when
// there is one), so that an escaped slash cannot route to a listed
// route while the check sees another path.
func (s routeSet) has(r *http.Request) bool {
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	return s.mux.Match(chi.NewRouteContext(), r.Method, path)
}

// limits applies the rate limit and the stream caps to the routes listed.
func limits(rl *httpx.RateLimiter, streams *httpx.StreamLimit) func(http.Handler) http.Handler {
	writes, events := newRouteSet(UnauthenticatedWrites), newRouteSet(EventStreams)
	return func(next http.Handler) http.Handler {
		limited, streamed := rl.Handler(next), streams.Handler(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case writes.has(r):
				limited.ServeHTTP(w, r)
			case events.has(r):
				streamed.ServeHTTP(w, r)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if c.DB == nil {
		return errors.New("web: Config.DB is required")
	}
	if c.WriteTimeout < 0 || c.StreamWriteTimeout < 0 {
		return errors.New("web: write timeouts must not be negative")
	}
	if err := c.RateLimit.Validate(); err != nil {
		return err
	}
	if c.StreamsPerSession < 0 || c.MaxStreams < 0 {
		return errors.New("web: stream caps must not be negative")
	}
	for _, m := range append(append([]Mount{}, c.APIs...), c.Pages...) {
		if m.Pattern == "" || m.Pattern[0] != '/' || m.Handler == nil {
			return errors.New("web: every mount needs a pattern starting with / and a handler")
		}
	}
	return nil
}

// Server is the HTTP front of a Tong process.
type Server struct {
	cfg     Config
	log     *slog.Logger
	tmpl    *template.Template
	handler http.Handler
	offers  offerCache // offers made here, until they expire (agency.go)

	rateLimit *httpx.RateLimiter
	streams   *httpx.StreamLimit
}

// RateLimiter is the limiter of UnauthenticatedWrites, and Streams the
// cap on EventStreams (for tests and metrics).
func (s *Server) RateLimiter() *httpx.RateLimiter { return s.rateLimit }
func (s *Server) Streams() *httpx.StreamLimit     { return s.streams }

// New builds the router.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
		cfg.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	tmpl, err := template.New("").Funcs(templateFuncs).Funcs(walletFuncs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, tmpl: tmpl}
	metrics, err := httpx.NewMetrics(cfg.Metrics, routePattern)
	if err != nil {
		return nil, err
	}

	if cfg.AccessLog != nil {
		metrics.SetAccessLog(cfg.AccessLog)
	}

	rl, err := httpx.NewRateLimiter(cfg.RateLimit)
	if err != nil {
		return nil, err
	}
	s.rateLimit = rl
	s.streams = httpx.NewStreamLimit(cfg.StreamsPerSession, cfg.MaxStreams)

	r := chi.NewRouter()
	// Order: the guard sees every header, the recoverer's 500 included;
	// the write deadline is set before any handler writes; limits come
	// last, so that refusals are counted and logged like any answer.
	r.Use(httpx.WithRequestID(cfg.Logger), metrics.Handler, httpx.GuardHeaders, httpx.Recover,
		httpx.WriteDeadline(cfg.WriteTimeout, cfg.StreamWriteTimeout), httpx.LimitBody(MaxBody), limits(rl, s.streams))
	r.NotFound(httpx.NotFound)
	r.MethodNotAllowed(httpx.MethodNotAllowed)

	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	// At most a few scrapes gather at once; more get 503 (each gather
	// copies every series).
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(cfg.Metrics, promhttp.HandlerOpts{MaxRequestsInFlight: MaxMetricsScrapes}))
	static, _ := fs.Sub(staticFS, "static")
	// GET and HEAD only: the file server answers any method with the file.
	files := http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static)))
	r.Method(http.MethodGet, "/static/*", files)
	r.Method(http.MethodHead, "/static/*", files)
	for _, m := range cfg.APIs {
		r.Handle(m.Pattern, m.Handler)
	}
	if err := mountWallet(r, cfg.Wallet); err != nil {
		return nil, err
	}

	// Browser pages: forms are protected against cross-site requests.
	csrf := http.NewCrossOriginProtection()
	r.Group(func(r chi.Router) {
		r.Use(func(next http.Handler) http.Handler { return csrf.Handler(next) }, pageHeaders)
		r.Get("/", s.landing)
		r.Get("/agency", redirectTo("/agency/"))
		r.Get("/counter", redirectTo("/counter/"))
		if cfg.Issuer != nil {
			s.agencyRoutes(r)
		}
		if cfg.Verifier != nil {
			s.counterRoutes(r)
		}
		if cfg.Explorer != nil {
			r.Get("/explorer", redirectTo("/explorer/"))
			s.explorerRoutes(r)
		}
		if cfg.Meetings != nil && cfg.Verifier != nil {
			r.Get("/meetings", redirectTo("/meetings/"))
			s.meetingsRoutes(r)
		}
		if cfg.Payments != nil && cfg.Verifier != nil {
			r.Get("/payments", redirectTo("/payments/"))
			s.paymentsRoutes(r)
		}
		if cfg.Inquiries != nil {
			s.inquiriesRoutes(r)
		}
		for _, m := range cfg.Pages {
			r.Mount(m.Pattern, m.Handler)
		}
	})
	s.handler = r
	return s, nil
}

// pageHeaders sets every page's security headers before its handler
// runs: a handler that writes an error status first and renders after
// (render sets them too) would otherwise send its page without them.
func pageHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setPageHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}

func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

func redirectTo(path string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { httpx.Redirect(w, r, path, http.StatusMovedPermanently) }
}

// Handler is the root handler to serve.
func (s *Server) Handler() http.Handler { return s.handler }

func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		return rc.RoutePattern()
	}
	return ""
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, r, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Cache-Control", "no-store")
	if err := s.cfg.DB.Ping(ctx); err != nil {
		httpx.WriteError(w, r, httpx.Wrap(http.StatusServiceUnavailable, httpx.CodeUnavailable, "database does not answer", err))
		return
	}
	httpx.WriteJSON(w, r, http.StatusOK, map[string]string{"status": "ready"})
}

type landingData struct {
	PublicURL string
	Demo      bool
	Roles     []roleLink
}

func (s *Server) landing(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "landing.html", landingData{PublicURL: s.cfg.PublicURL, Demo: s.cfg.Demo, Roles: s.roleLinks()})
}

// render executes a template into a buffer first, so a template error
// becomes a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	setPageHeaders(w.Header())
	_, _ = w.Write(buf.Bytes())
}
