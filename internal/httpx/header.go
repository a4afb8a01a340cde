package httpx

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/tongid/tong/internal/text"
)

// CodeInvalidRedirect is the code of a redirect refused because its target
// holds a NUL, CR or LF.
const CodeInvalidRedirect = "invalid_redirect"

// Redirect is http.Redirect that refuses a target holding a NUL, CR or LF
// before anything is written: the client gets 400 invalid_redirect (the
// bytes came from the request), never a Location header that carries them.
func Redirect(w http.ResponseWriter, r *http.Request, target string, code int) {
	if !text.HeaderValue(target) {
		WriteError(w, r, E(http.StatusBadRequest, CodeInvalidRedirect, "the redirect target holds a NUL, CR or LF byte"))
		return
	}
	http.Redirect(w, r, target, code)
}

// GuardHeaders refuses to send any response header whose name or value
// holds a NUL, CR or LF (net/http turns CR and LF into spaces but passes
// NUL through). Such a response is replaced, before a byte of it is
// written, by a 500 server_error, and the header's name is logged.
func GuardHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&headerGuard{ResponseWriter: w, r: r}, r)
	})
}

type headerGuard struct {
	http.ResponseWriter
	r       *http.Request
	wrote   bool
	refused bool
}

func badHeader(h http.Header) (string, bool) {
	for k, vs := range h {
		if !text.HeaderValue(k) || strings.ContainsAny(k, " :") {
			return k, true
		}
		for _, v := range vs {
			if !text.HeaderValue(v) {
				return k, true
			}
		}
	}
	return "", false
}

func (g *headerGuard) WriteHeader(code int) {
	if g.wrote {
		return // superfluous; net/http would only log it
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		if k, bad := badHeader(g.Header()); bad {
			g.refuse(k)
			return
		}
		g.ResponseWriter.WriteHeader(code)
		return
	}
	g.wrote = true
	if k, bad := badHeader(g.Header()); bad {
		g.refuse(k)
		return
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *headerGuard) refuse(name string) {
	g.wrote, g.refused = true, true
	h := g.Header()
	for k := range h {
		delete(h, k)
	}
	h.Set(RequestIDHeader, RequestID(g.r.Context()))
	WriteError(g.ResponseWriter, g.r, fmt.Errorf("response header %q refused: it holds a NUL, CR or LF byte", name))
}

func (g *headerGuard) Write(b []byte) (int, error) {
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	if g.refused {
		return len(b), nil
	}
	return g.ResponseWriter.Write(b)
}

// Flush lets server-sent events through the guard (after the check).
func (g *headerGuard) Flush() { _ = g.FlushError() }

// FlushError is what http.ResponseController calls.
func (g *headerGuard) FlushError() error {
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	if g.refused {
		return nil
	}
	return http.NewResponseController(g.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the real writer.
func (g *headerGuard) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// WriteString writes s without copying it.
func (g *headerGuard) WriteString(s string) (int, error) {
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	if g.refused {
		return len(s), nil
	}
	return io.WriteString(g.ResponseWriter, s)
}
