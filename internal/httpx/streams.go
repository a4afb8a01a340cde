package httpx

import (
	"net/http"
	"sync"
)

// CodeTooManyStreams is the error code of an event stream refused because
// its session already has as many open as it may.
const CodeTooManyStreams = "too_many_streams"

// Event stream caps: how many server-sent event streams one session (one
// page's events URL) may have open at once, and how many the process
// serves in total. A stream is a connection held for up to a session's
// lifetime, polling for its outcome, so the caps bound what opening the
// same page many times can pin.
const (
	DefaultStreamsPerKey = 4
	DefaultMaxStreams    = 256
)

// StreamLimit caps concurrent long-lived responses per key and in total.
// The map holds only keys with a stream open, so it is bounded by the
// total cap. It is safe for concurrent use.
type StreamLimit struct {
	perKey, total int

	mu    sync.Mutex
	open  int
	byKey map[string]int
}

// NewStreamLimit makes a limit of perKey streams per key and total in all;
// zero values mean DefaultStreamsPerKey and DefaultMaxStreams.
func NewStreamLimit(perKey, total int) *StreamLimit {
	if perKey <= 0 {
		perKey = DefaultStreamsPerKey
	}
	if total <= 0 {
		total = DefaultMaxStreams
	}
	return &StreamLimit{perKey: perKey, total: total, byKey: map[string]int{}}
}

// Acquire takes a slot for key. It returns a release function, or the
// error to answer with (429 too_many_streams for the key's cap, 503 for
// the total).
func (s *StreamLimit) Acquire(key string) (func(), *Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open >= s.total {
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
			Description: "too many live pages are open on this server; reload in a minute", Header: http.Header{"Retry-After": {"30"}}}
	}
	if s.byKey[key] >= s.perKey {
		return nil, &Error{Status: http.StatusTooManyRequests, Code: CodeTooManyStreams,
			Description: "this page is already open in several windows; close one and reload", Header: http.Header{"Retry-After": {"30"}}}
	}
	s.open++
	s.byKey[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.open--
			if s.byKey[key]--; s.byKey[key] <= 0 {
				delete(s.byKey, key)
			}
		})
	}, nil
}

// Open is how many streams are open, and Keys for how many keys.
func (s *StreamLimit) Open() (streams, keys int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open, len(s.byKey)
}

// Handler holds a slot, keyed by the request's path, for as long as next
// serves the request, and refuses the request when none is free.
func (s *StreamLimit) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		release, err := s.Acquire(r.URL.Path)
		if err != nil {
			WriteError(w, r, err)
			return
		}
		defer release()
		next.ServeHTTP(w, r)
	})
}
