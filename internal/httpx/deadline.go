package httpx

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// Write deadlines. A response must be written within DefaultWriteTimeout
// of the request's start; a server-sent event stream gets
// DefaultStreamWriteTimeout for each event instead (the deadline moves on
// at every flush), so a client that stops reading is dropped within that
// time and the handler, and what it holds, is let go.
const (
	DefaultWriteTimeout       = 30 * time.Second
	DefaultStreamWriteTimeout = 2 * time.Minute
)

// ContentTypeEventStream is the media type of server-sent events.
const ContentTypeEventStream = "text/event-stream"

// WriteDeadline bounds the time each response may take to be written,
// through http.ResponseController: d from the moment the handler starts
// writing an ordinary response (and from the start of the request until
// then), and stream from each flush for a response whose Content-Type is
// text/event-stream. A write past the deadline fails, the
// connection is closed, and the handler's writes return errors from then
// on. Zero values mean the defaults.
func WriteDeadline(d, stream time.Duration) func(http.Handler) http.Handler {
	if d <= 0 {
		d = DefaultWriteTimeout
	}
	if stream <= 0 {
		stream = DefaultStreamWriteTimeout
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			// An error means the writer has no deadlines (a recorder in a
			// test); the server's WriteTimeout still applies then.
			_ = rc.SetWriteDeadline(time.Now().Add(d))
			next.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: rc, d: d, stream: stream}, r)
		})
	}
}

type deadlineWriter struct {
	http.ResponseWriter
	rc        *http.ResponseController
	d, stream time.Duration
	streaming bool
	wrote     bool
}

// header starts the response's own deadline when it begins to be
// written, so a handler that waits before answering (a long poll) still
// has the whole time to write.
func (d *deadlineWriter) header() {
	if d.wrote {
		return
	}
	d.wrote = true
	if strings.HasPrefix(d.Header().Get("Content-Type"), ContentTypeEventStream) {
		d.streaming = true
		_ = d.rc.SetWriteDeadline(time.Now().Add(d.stream))
		return
	}
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.d))
}

func (d *deadlineWriter) WriteHeader(code int) {
	if code >= 200 {
		d.header()
	}
	d.ResponseWriter.WriteHeader(code)
}

func (d *deadlineWriter) Write(b []byte) (int, error) {
	d.header()
	return d.ResponseWriter.Write(b)
}

// Flush moves a stream's deadline on: each event has its own.
func (d *deadlineWriter) Flush() { _ = d.FlushError() }

// FlushError is what http.ResponseController calls.
func (d *deadlineWriter) FlushError() error {
	d.header()
	err := d.rc.Flush()
	if d.streaming && err == nil {
		_ = d.rc.SetWriteDeadline(time.Now().Add(d.stream))
	}
	return err
}

// Unwrap lets http.ResponseController reach the real writer.
func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

// WriteString writes s without copying it (a cached body is written as
// it is, not duplicated per slow client).
func (d *deadlineWriter) WriteString(s string) (int, error) {
	d.header()
	return io.WriteString(d.ResponseWriter, s)
}
