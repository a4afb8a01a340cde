// Package inquiriesapi is the JSON API of the inquiries service, beside its
// pages: citizens ask and read their thread with the secret token
// (Authorization: Bearer tong_iq_...), staff work their agency's queue with
// an agency API token (Authorization: Bearer tong_at_...). docs/api.md
// lists the routes.
package inquiriesapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tongid/tong/internal/httpx"
	"github.com/tongid/tong/services/inquiries"
)

// Prefixes are the path patterns web mounts the API under.
var Prefixes = []string{"/inquiries-api/*"}

// MaxBody bounds a request body: the longest text in UTF-8, and room.
const MaxBody = inquiries.MaxText*4 + 4096

// StaffAuth finds the agency and the token id of a staff API token;
// *issuer.Service is one.
type StaffAuth interface {
	TokenAgency(ctx context.Context, token string) (agency, id string, err error)
}

// API serves an inquiries.Service.
type API struct {
	svc   *inquiries.Service
	staff StaffAuth
	// PublicURL builds the thread's page link (thread_url).
	publicURL string
}

// New returns the API. staff may be nil: then the staff routes answer 401.
func New(svc *inquiries.Service, staff StaffAuth, publicURL string) *API {
	return &API{svc: svc, staff: staff, publicURL: strings.TrimSuffix(publicURL, "/")}
}

// Routes returns the handler for every route.
func (a *API) Routes() http.Handler {
	r := chi.NewRouter()
	r.NotFound(httpx.NotFound)
	r.MethodNotAllowed(httpx.MethodNotAllowed)
	r.Route("/inquiries-api", func(r chi.Router) {
		r.Get("/topics", a.topics)
		r.Post("/topics/{id}/questions", a.ask)
		r.Get("/thread", a.thread)
		r.Post("/thread/messages", a.reply)
		r.Route("/agency", func(r chi.Router) {
			r.Use(a.staffAuth)
			r.Get("/topics", a.agencyTopics)
			r.Post("/topics", a.publish)
			r.Post("/topics/{id}/close", a.closeTopic)
			r.Get("/inquiries", a.queue)
			r.Get("/inquiries/{ref}", a.inquiry)
			r.Post("/inquiries/{ref}/{action}", a.action)
		})
	})
	return r
}

type ctxStaff struct{}

func (a *API) staffAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || a.staff == nil {
			httpx.WriteError(w, r, &httpx.Error{Status: http.StatusUnauthorized, Code: httpx.CodeUnauthorized, Description: "an agency API token is required",
				Header: http.Header{"WWW-Authenticate": {`Bearer realm="tong-inquiries"`}}})
			return
		}
		agency, id, err := a.staff.TokenAgency(r.Context(), tok)
		if err != nil {
			httpx.WriteError(w, r, &httpx.Error{Status: http.StatusUnauthorized, Code: httpx.CodeUnauthorized, Description: "the agency API token is unknown or revoked",
				Header: http.Header{"WWW-Authenticate": {`Bearer realm="tong-inquiries", error="invalid_token"`}}})
			return
		}
		ctx := context.WithValue(r.Context(), ctxStaff{}, inquiries.Staff{Agency: agency, Actor: id})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func staffOf(r *http.Request) inquiries.Staff {
	st, ok := r.Context().Value(ctxStaff{}).(inquiries.Staff)
	if !ok {
		panic("developer error: staffAuth middleware not installed")
	}
	return st
}

func (a *API) topics(w http.ResponseWriter, r *http.Request) {
	ts, err := a.svc.Topics(r.Context(), r.URL.Query().Get("agency"))
	if err != nil {
		fail(w, r, err)
		return
	}
	if ts == nil {
		ts = []*inquiries.Topic{}
	}
	httpx.WriteJSON(w, r, http.StatusOK, map[string]any{"topics": ts})
}

// askResponse is what a citizen keeps. The token is shown once.
type askResponse struct {
	Reference  string `json:"reference"`
	Token      string `json:"token"`
	ThreadURL  string `json:"thread_url"`
	Status     string `json:"status"`
	RequestURI string `json:"request_uri,omitempty"`
}

// clientKey is what the flood limits count by: the client as the rate
// limit sees it, behind --trusted-proxies too (the service stores only a
// keyed hash of it).
func clientKey(r *http.Request) string { return httpx.ClientKeyOf(r) }

func (a *API) ask(w http.ResponseWriter, r *http.Request) {
	var q inquiries.Question
	if err := httpx.ReadJSONLimit(w, r, MaxBody, &q); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	asked, err := a.svc.Ask(r.Context(), chi.URLParam(r, "id"), clientKey(r), q)
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, r, http.StatusCreated, askResponse{Reference: asked.Inquiry.Reference, Token: asked.Token,
		ThreadURL: a.publicURL + "/inquiries/t/" + asked.Token, Status: asked.Inquiry.Status, RequestURI: asked.RequestURI})
}

// threadJSON is a thread on the wire.
type threadJSON struct {
	Inquiry    *inquiries.Inquiry  `json:"inquiry"`
	Topic      *inquiries.Topic    `json:"topic"`
	Messages   []inquiries.Message `json:"messages"`
	RequestURI string              `json:"request_uri,omitempty"`
}

func (a *API) writeThread(w http.ResponseWriter, r *http.Request, th *inquiries.Thread) {
	if th.Messages == nil {
		th.Messages = []inquiries.Message{}
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, r, http.StatusOK, threadJSON{Inquiry: th.Inquiry, Topic: th.Topic, Messages: th.Messages, RequestURI: a.svc.RequestURI(th.Inquiry)})
}

func citizenToken(r *http.Request) string {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return tok
}

func (a *API) thread(w http.ResponseWriter, r *http.Request) {
	th, err := a.svc.Thread(r.Context(), citizenToken(r))
	if err != nil {
		fail(w, r, err)
		return
	}
	// ?wait=N (seconds, at most 60) holds the answer until the thread
	// changes, for clients that cannot read server-sent events.
	if n := waitSeconds(r); n > 0 {
		ctx, cancel := context.WithTimeout(r.Context(), time.Duration(n)*time.Second)
		defer cancel()
		before := len(th.Messages)
		status := th.Inquiry.Status
		for ctx.Err() == nil && len(th.Messages) == before && th.Inquiry.Status == status {
			ch, stop := a.svc.Changed(th.Inquiry.ID)
			select {
			case <-ch:
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			stop()
			if th, err = a.svc.Thread(r.Context(), citizenToken(r)); err != nil {
				fail(w, r, err)
				return
			}
		}
	}
	a.writeThread(w, r, th)
}

func waitSeconds(r *http.Request) int {
	var n int
	for _, c := range r.URL.Query().Get("wait") {
		if c < '0' || c > '9' || n > 60 {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return min(n, 60)
}

type textBody struct {
	Text     string `json:"text"`
	MoreInfo bool   `json:"more_info,omitempty"`
	Assignee string `json:"assignee,omitempty"`
}

func (a *API) reply(w http.ResponseWriter, r *http.Request) {
	var b textBody
	if err := httpx.ReadJSONLimit(w, r, MaxBody, &b); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	th, err := a.svc.Reply(r.Context(), citizenToken(r), b.Text)
	if err != nil {
		fail(w, r, err)
		return
	}
	a.writeThread(w, r, th)
}

func (a *API) agencyTopics(w http.ResponseWriter, r *http.Request) {
	ts, err := a.svc.AgencyTopics(r.Context(), staffOf(r).Agency)
	if err != nil {
		fail(w, r, err)
		return
	}
	if ts == nil {
		ts = []*inquiries.Topic{}
	}
	httpx.WriteJSON(w, r, http.StatusOK, map[string]any{"topics": ts})
}

func (a *API) publish(w http.ResponseWriter, r *http.Request) {
	var nt inquiries.NewTopic
	if err := httpx.ReadJSONLimit(w, r, MaxBody, &nt); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	t, err := a.svc.PublishTopic(r.Context(), staffOf(r).Agency, nt)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, r, http.StatusCreated, t)
}

func (a *API) closeTopic(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.CloseTopic(r.Context(), staffOf(r).Agency, chi.URLParam(r, "id")); err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, r, http.StatusOK, map[string]string{"status": "closed"})
}

func (a *API) queue(w http.ResponseWriter, r *http.Request) {
	list, counts, err := a.svc.Queue(r.Context(), staffOf(r).Agency, r.URL.Query().Get("status"), 0)
	if err != nil {
		fail(w, r, err)
		return
	}
	if list == nil {
		list = []*inquiries.Inquiry{}
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, r, http.StatusOK, map[string]any{"counts": counts, "inquiries": list})
}

func (a *API) inquiry(w http.ResponseWriter, r *http.Request) {
	th, err := a.svc.Inquiry(r.Context(), staffOf(r), chi.URLParam(r, "ref"))
	if err != nil {
		fail(w, r, err)
		return
	}
	a.writeThread(w, r, th)
}

func (a *API) action(w http.ResponseWriter, r *http.Request) {
	var b textBody
	if r.ContentLength != 0 {
		if err := httpx.ReadJSONLimit(w, r, MaxBody, &b); err != nil {
			httpx.WriteError(w, r, err)
			return
		}
	}
	st, ref := staffOf(r), chi.URLParam(r, "ref")
	var th *inquiries.Thread
	var err error
	switch chi.URLParam(r, "action") {
	case "assign":
		th, err = a.svc.Assign(r.Context(), st, ref, b.Assignee)
	case "answer":
		th, err = a.svc.Answer(r.Context(), st, ref, b.Text, b.MoreInfo)
	case "close":
		th, err = a.svc.Close(r.Context(), st, ref)
	default:
		httpx.NotFound(w, r)
		return
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	a.writeThread(w, r, th)
}
