package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RequestIDHeader carries the request ID in and out.
const RequestIDHeader = "X-Request-Id"

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxLogger
)

// RequestID is the ID of the request that ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(ctxRequestID).(string)
	return id
}

// LoggerFrom is the request-scoped logger (with request_id), or slog.Default.
func LoggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(ctxLogger).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// validRequestID accepts a client-supplied ID only if it is short and made
// of safe characters, so that it cannot forge log lines.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// WithRequestID gives each request an ID (the client's X-Request-Id when it
// is well formed, else a fresh one), echoes it in the response, and puts it
// and a logger carrying it in the request context.
func WithRequestID(logger *slog.Logger) func(http.Handler) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get(RequestIDHeader)
			if !validRequestID(id) {
				id = newRequestID()
			}
			w.Header().Set(RequestIDHeader, id)
			ctx := context.WithValue(r.Context(), ctxRequestID, id)
			ctx = context.WithValue(ctx, ctxLogger, logger.With(slog.String("request_id", id)))
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// Recover turns a panic in a handler into a 500 server_error whose body holds
// nothing of the panic; the value and stack go to the log. http.ErrAbortHandler
// is re-panicked, as net/http expects.
func Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			LoggerFrom(r.Context()).ErrorContext(r.Context(), "handler panic",
				slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
			WriteError(w, r, fmt.Errorf("panic: %v", v))
		}()
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status and size a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// WriteString writes s without copying it.
func (s *statusRecorder) WriteString(str string) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := io.WriteString(s.ResponseWriter, str)
	s.bytes += int64(n)
	return n, err
}

// Flush lets server-sent events through the recorder.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Metrics counts requests and observes their latency per route pattern.
// Its labels come from a closed set, so no request can add a series:
// the method is one of the methods of RFC 9110 and RFC 5789 or "other",
// and a request that matched no route is counted under "unmatched".
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// Route names the route pattern a request matched, after the handler
	// ran (chi fills its route context only then). Nil means "all".
	route func(*http.Request) string
	// access, when set, gets the access lines at info level; otherwise
	// they go to the request's logger at debug level.
	access *slog.Logger
}

// Metric label values for what is not in the closed set: a method or
// status code outside it, and a request that matched no route.
const (
	LabelOther     = "other"
	RouteUnmatched = "unmatched"
)

// methodLabel maps a request method to its metric label.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return LabelOther
}

// NewMetrics registers the HTTP metrics on reg.
func NewMetrics(reg prometheus.Registerer, route func(*http.Request) string) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tong_http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tong_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
		route: route,
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// SetAccessLog sends the access lines to l at info level (a file, say).
// Without it they go to the request's logger at debug level, so a server
// at the default level writes no line per request.
func (m *Metrics) SetAccessLog(l *slog.Logger) { m.access = l }

// Handler is the middleware that records the metrics and writes the access
// log line of each request.
func (m *Metrics) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		elapsed := time.Since(start)
		route := "all"
		if m.route != nil {
			if p := m.route(r); p != "" {
				route = p
			} else {
				route = RouteUnmatched
			}
		}
		method := methodLabel(r.Method)
		code := strconv.Itoa(rec.status)
		if rec.status < 100 || rec.status > 599 {
			code = LabelOther
		}
		m.requests.WithLabelValues(route, method, code).Inc()
		m.latency.WithLabelValues(route, method).Observe(elapsed.Seconds())
		logger, level := LoggerFrom(r.Context()), slog.LevelDebug
		if m.access != nil {
			logger, level = m.access.With(slog.String("request_id", RequestID(r.Context()))), slog.LevelInfo
		}
		if !logger.Enabled(r.Context(), level) {
			return
		}
		path := r.URL.Path
		if strings.Contains(route, "{token}") {
			path = route // the path holds a bearer secret (an inquiry's link): never log it
		}
		logger.LogAttrs(r.Context(), level, "http",
			slog.String("method", method), slog.String("route", route), slog.String("path", path),
			slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes),
			slog.Duration("duration", elapsed))
	})
}
