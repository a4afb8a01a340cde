package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tongid/tong/internal/bytelru"
	"github.com/tongid/tong/internal/qr"
	"github.com/tongid/tong/services/payments"
	"github.com/tongid/tong/verifier"
)

// Cookie names. The cookies hold the API token the person signed in with
// ("sign in with an API token for now"): HttpOnly, SameSite=Strict, and
// Secure when the public URL is https.
const (
	cookieCounter = "tong_counter"
	cookieAgency  = "tong_agency"
)

type page struct {
	Title string
	Error string
}

func (s *Server) setCookie(w http.ResponseWriter, name, path, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: strings.HasPrefix(s.cfg.PublicURL, "https://")})
}

// qrDataURL renders a QR code as a data: URL for an <img>. It is marked
// safe for html/template: the content is our own PNG.
func qrDataURL(content string) template.URL {
	if u, ok := qrImages.Get(content); ok {
		return u
	}
	png, err := qr.PNG(content, 320)
	if err != nil {
		return ""
	}
	u := template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	qrImages.Add(content, u, int64(len(content)+len(u)))
	return u
}

// qrImages keeps the QR codes drawn lately, by content, so that reloading
// a pending booking, payment or counter page (or a flood of such loads)
// does not draw the same code again; the contents are URIs this server
// made, and the cache is bounded in bytes (a code is about 4 KB).
var qrImages = bytelru.New[string, template.URL](maxQRCacheBytes)

// maxQRCacheBytes holds about a thousand codes.
const maxQRCacheBytes = 4 << 20

// deepLink marks an openid4vp:// or openid-credential-offer:// URI that
// this server built as safe to link to (html/template allows only http(s)
// and mailto by default).
func deepLink(u string) template.URL {
	if strings.HasPrefix(u, "openid4vp://") || strings.HasPrefix(u, "openid-credential-offer://") {
		return template.URL(u)
	}
	return ""
}

// --- counter screen ---

func (s *Server) counterRoutes(r chi.Router) {
	r.Get("/counter/", s.counterHome)
	r.Post("/counter/signin", s.counterSignin)
	r.Post("/counter/signout", s.counterSignout)
	r.Post("/counter/sessions", s.counterCreate)
	r.Get("/counter/sessions/{id}", s.counterSession)
	r.Get("/counter/sessions/{id}/events", s.counterEvents)
	r.Get("/counter/history", s.counterHistory)
	r.Get("/counter/done", s.counterDone)
}

func (s *Server) counter(r *http.Request) *verifier.Counter {
	c, err := r.Cookie(cookieCounter)
	if err != nil {
		return nil
	}
	ctr, err := s.cfg.Verifier.Authenticate(r.Context(), c.Value)
	if err != nil {
		return nil
	}
	return ctr
}

func (s *Server) counterSigninPage(w http.ResponseWriter, r *http.Request, msg string) {
	s.render(w, r, "signin.html", struct {
		page
		Action, Hint string
	}{page{"Counter sign-in · 窗口登录", msg}, "/counter/signin", "Demo counter tokens are in demo.json (counters[].token). 演示令牌见 demo.json。"})
}

type counterData struct {
	page
	Counter  *verifier.Counter
	OrgName  string
	Purposes []*verifier.Purpose
	// Orders are open fee orders a payments counter can collect, with a
	// receipt (services/payments).
	Orders []*payments.Order
}

func (s *Server) counterHome(w http.ResponseWriter, r *http.Request) {
	c := s.counter(r)
	if c == nil {
		s.counterSigninPage(w, r, "")
		return
	}
	s.counterPage(w, r, c, "")
}

func (s *Server) counterPage(w http.ResponseWriter, r *http.Request, c *verifier.Counter, msg string) {
	d := counterData{page: page{Title: c.Name, Error: msg}, Counter: c}
	if o, err := s.cfg.Verifier.Org(r.Context(), c.Org); err == nil {
		d.OrgName = o.Name
	}
	for _, id := range c.Purposes {
		if p, err := s.cfg.Verifier.Purpose(id); err == nil {
			d.Purposes = append(d.Purposes, p)
		}
		if id == "pay-fee" && s.cfg.Payments != nil {
			d.Orders, _ = s.cfg.Payments.Open(r.Context())
		}
	}
	s.render(w, r, "counter.html", d)
}

func (s *Server) counterSignin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.counterSigninPage(w, r, explainCode("invalid_request"))
		return
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	if _, err := s.cfg.Verifier.Authenticate(r.Context(), tok); err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		s.counterSigninPage(w, r, "Unknown or revoked counter token. 令牌无效或已撤销。 Check the token, or ask your administrator for a new one. 请核对令牌，或向管理员申请新令牌。")
		return
	}
	s.setCookie(w, cookieCounter, "/counter/", tok, 12*3600)
	http.Redirect(w, r, "/counter/", http.StatusSeeOther)
}

func (s *Server) counterSignout(w http.ResponseWriter, r *http.Request) {
	s.setCookie(w, cookieCounter, "/counter/", "", -1)
	http.Redirect(w, r, "/counter/", http.StatusSeeOther)
}

func (s *Server) counterCreate(w http.ResponseWriter, r *http.Request) {
	c := s.counter(r)
	if c == nil {
		w.WriteHeader(http.StatusUnauthorized) // refused: the write needs a sign-in
		s.counterSigninPage(w, r, "Please sign in. 请登录。")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.counterPage(w, r, c, explainCode("invalid_request"))
		return
	}
	nr := verifier.NewRequest{Purpose: r.PostForm.Get("purpose")}
	if p, err := s.cfg.Verifier.Purpose(nr.Purpose); err == nil && p.TransactionData != nil {
		amount := strings.TrimSpace(r.PostForm.Get("amount"))
		if _, err := strconv.ParseFloat(amount, 64); err != nil {
			s.counterPage(w, r, c, "The amount must be a number, such as 120.00. 金额格式不正确。")
			return
		}
		nr.TransactionData = map[string]any{"amount": amount, "currency": "CNY",
			"payee": strings.TrimSpace(r.PostForm.Get("payee")), "order_id": strings.TrimSpace(r.PostForm.Get("order_id"))}
	}
	sess, err := s.cfg.Verifier.CreateSession(r.Context(), c, nr)
	if err != nil {
		s.counterPage(w, r, c, publicError(err))
		return
	}
	http.Redirect(w, r, "/counter/sessions/"+url.PathEscape(sess.ID), http.StatusSeeOther)
}

type sessionData struct {
	page
	Session     *verifier.Session
	PurposeName string
	// PurposeDisplay is the purpose's name in every language it has.
	PurposeDisplay []verifier.Display
	Outcome        outcomeView
	QR             template.URL
	Link           template.URL
}

func (s *Server) counterSession(w http.ResponseWriter, r *http.Request) {
	c := s.counter(r)
	if c == nil {
		s.counterSigninPage(w, r, "Please sign in. 请登录。")
		return
	}
	sess, err := s.cfg.Verifier.Session(r.Context(), c, chi.URLParam(r, "id"))
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		s.counterPage(w, r, c, "No such check at this counter. 未找到该核验。 Start a new check. 请发起新的核验。")
		return
	}
	d := sessionData{page: page{Title: sess.Purpose}, Session: sess, PurposeName: sess.Purpose, Outcome: s.outcome(r.Context(), sess)}
	if p, err := s.cfg.Verifier.Purpose(sess.Purpose); err == nil && len(p.Display) > 0 {
		d.PurposeName, d.PurposeDisplay = p.Display[0].Name, p.Display
	}
	if sess.Status == verifier.StatusPending {
		d.QR, d.Link = qrDataURL(sess.RequestURI), deepLink(sess.RequestURI)
	}
	s.render(w, r, "session.html", d)
}

// counterEvents streams the outcome, rendered, once the wallet answers.
func (s *Server) counterEvents(w http.ResponseWriter, r *http.Request) {
	c := s.counter(r)
	fl, ok := w.(http.Flusher)
	if c == nil || !ok {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	id := chi.URLParam(r, "id")
	sess, err := s.cfg.Verifier.Session(r.Context(), c, id)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, ": waiting\n\n")
	fl.Flush()
	ctx, cancel := context.WithDeadline(r.Context(), sess.ExpiresAt.Add(time.Second))
	defer cancel()
	for sess.Status == verifier.StatusPending && ctx.Err() == nil {
		wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
		sess, err = s.cfg.Verifier.Wait(wctx, c, id)
		wcancel()
		if err != nil {
			return
		}
		if sess.Status == verifier.StatusPending {
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		}
	}
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, "outcome", s.outcome(r.Context(), sess)); err != nil {
		return
	}
	fmt.Fprintf(w, "event: outcome\ndata: %s\n\n", strings.ReplaceAll(buf.String(), "\n", " "))
	fl.Flush()
}

func (s *Server) counterHistory(w http.ResponseWriter, r *http.Request) {
	c := s.counter(r)
	if c == nil {
		s.counterSigninPage(w, r, "Please sign in. 请登录。")
		return
	}
	ss, err := s.cfg.Verifier.Sessions(r.Context(), c, 100)
	if err != nil {
		s.counterPage(w, r, c, publicError(err))
		return
	}
	s.render(w, r, "history.html", struct {
		page
		Sessions []*verifier.Session
	}{page{Title: "History · 记录"}, ss})
}

// counterDone is where a same-device wallet returns.
func (s *Server) counterDone(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/counter/sessions/"+url.PathEscape(r.URL.Query().Get("session")), http.StatusSeeOther)
}
