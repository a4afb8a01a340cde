// Package httpapi is the verifier's HTTP face: the request objects and the
// direct_post response endpoint that wallets call, and the counter API
// (sessions, QR codes, live results over server-sent events).
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tongid/tong/credential/vpwire"
	"github.com/tongid/tong/internal/httpx"
	"github.com/tongid/tong/internal/qr"
	"github.com/tongid/tong/verifier"
)

// Prefixes are the path patterns web mounts the API under.
var Prefixes = []string{"/verifier/*"}

// API serves a verifier.Service.
type API struct{ svc *verifier.Service }

// New returns the API of svc.
func New(svc *verifier.Service) *API { return &API{svc: svc} }

// Routes returns the handler for every verifier route.
func (a *API) Routes() http.Handler {
	r := chi.NewRouter()
	r.NotFound(httpx.NotFound)
	r.MethodNotAllowed(httpx.MethodNotAllowed)
	// The request_uri and response_uri endpoints are readable from any
	// origin, for a wallet web app hosted elsewhere; the counter API is not.
	pub := &httpx.PublicRoutes{R: r}
	pub.Handle(http.MethodGet, "/verifier/requests/{id}", a.requestObject)
	pub.Handle(http.MethodPost, "/verifier/requests/{id}", a.requestObject) // request_uri_method=post
	pub.Handle(http.MethodPost, "/verifier/response/{id}", a.response)
	r.Group(func(r chi.Router) {
		r.Use(a.counterAuth)
		r.Get("/verifier/purposes", a.purposes)
		r.Post("/verifier/sessions", a.createSession)
		r.Get("/verifier/sessions/{id}", a.session)
		r.Get("/verifier/sessions/{id}/events", a.events)
		r.Get("/verifier/sessions/{id}/qr.png", a.qrPNG)
	})
	return r
}

// ContentTypeRequestObject is the media type of a request object.
const ContentTypeRequestObject = vpwire.MediaTypeRequestObject

func (a *API) requestObject(w http.ResponseWriter, r *http.Request) {
	jws, err := a.svc.RequestObject(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ContentTypeRequestObject)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(jws))
}

func (a *API) response(w http.ResponseWriter, r *http.Request) {
	if err := httpx.ParseForm(w, r, verifier.MaxResponseBody); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if mt := r.Header.Get("Content-Type"); !strings.HasPrefix(mt, "application/x-www-form-urlencoded") {
		fail(w, r, &verifier.Error{Code: verifier.CodeMalformedResponse, Description: "direct_post responses are application/x-www-form-urlencoded"})
		return
	}
	for _, k := range []string{vpwire.ParamVPToken, vpwire.ParamState, vpwire.ParamResponse} {
		if len(r.PostForm[k]) > 1 {
			fail(w, r, &verifier.Error{Code: verifier.CodeMalformedResponse, Description: k + " is repeated"})
			return
		}
	}
	ans, err := a.svc.HandleResponse(r.Context(), chi.URLParam(r, "id"), r.PostForm)
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, r, http.StatusOK, ans)
}

type counterKey struct{}

func (a *API) counterAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			fail(w, r, &verifier.Error{Code: verifier.CodeUnauthorized, Description: "a counter API token is required (Authorization: Bearer tong_ct_...)"})
			return
		}
		c, err := a.svc.Authenticate(r.Context(), tok)
		if err != nil {
			fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), counterKey{}, c)))
	})
}

func counter(r *http.Request) *verifier.Counter {
	c, _ := r.Context().Value(counterKey{}).(*verifier.Counter)
	return c
}

func (a *API) purposes(w http.ResponseWriter, r *http.Request) {
	c := counter(r)
	var out []*verifier.Purpose
	for _, id := range c.Purposes {
		if p, err := a.svc.Purpose(id); err == nil {
			out = append(out, p)
		}
	}
	httpx.WriteJSON(w, r, http.StatusOK, map[string]any{"purposes": out})
}

// SessionResponse is the counter API's answer to a new session.
type SessionResponse struct {
	*verifier.Session
	QRPNG string `json:"qr_png"`
}

func (a *API) createSession(w http.ResponseWriter, r *http.Request) {
	var nr verifier.NewRequest
	if err := httpx.ReadJSONLimit(w, r, 16<<10, &nr); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	sess, err := a.svc.CreateSession(r.Context(), counter(r), nr)
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, r, http.StatusCreated, SessionResponse{Session: sess, QRPNG: "/verifier/sessions/" + sess.ID + "/qr.png"})
}

func (a *API) session(w http.ResponseWriter, r *http.Request) {
	var sess *verifier.Session
	var err error
	if wait := r.URL.Query().Get("wait"); wait != "" {
		d, perr := time.ParseDuration(wait)
		if perr != nil || d <= 0 || d > 5*time.Minute {
			fail(w, r, &verifier.Error{Code: verifier.CodeInvalidRequest, Description: "wait must be a duration up to 5m"})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		sess, err = a.svc.Wait(ctx, counter(r), chi.URLParam(r, "id"))
	} else {
		sess, err = a.svc.Session(r.Context(), counter(r), chi.URLParam(r, "id"))
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, r, http.StatusOK, sess)
}

// events streams a session's status as server-sent events: one "status"
// event now, one when it completes, then the stream ends.
func (a *API) events(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		httpx.WriteError(w, r, errors.New("streaming unsupported"))
		return
	}
	id := chi.URLParam(r, "id")
	sess, err := a.svc.Session(r.Context(), counter(r), id)
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	send := func(s *verifier.Session) {
		b, _ := json.Marshal(s)
		fmt.Fprintf(w, "event: status\ndata: %s\n\n", b)
		fl.Flush()
	}
	send(sess)
	if sess.Status != verifier.StatusPending {
		return
	}
	ctx, cancel := context.WithDeadline(r.Context(), sess.ExpiresAt.Add(time.Second))
	defer cancel()
	done := make(chan *verifier.Session, 1)
	go func() {
		s, _ := a.svc.Wait(ctx, counter(r), id)
		done <- s
	}()
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	for {
		select {
		case s := <-done:
			if s != nil {
				send(s)
			}
			return
		case <-beat.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		}
	}
}

func (a *API) qrPNG(w http.ResponseWriter, r *http.Request) {
	sess, err := a.svc.Session(r.Context(), counter(r), chi.URLParam(r, "id"))
	if err != nil {
		fail(w, r, err)
		return
	}
	if sess.Status != verifier.StatusPending {
		fail(w, r, &verifier.Error{Code: verifier.CodeSessionExpired, Description: "the session is over"})
		return
	}
	png, err := qr.PNG(a.svc.RequestURI(sess), 360)
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(png)
}

var _ = url.QueryEscape
