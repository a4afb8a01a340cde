package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tongid/tong/internal/httpx"
	"github.com/tongid/tong/services/inquiries"
)

// Citizen pages: /inquiries/ (topics), /inquiries/topics/{id} (ask),
// /inquiries/t/{token} (the thread, live). Staff pages sit under /agency/
// so that the console's sign-in cookie reaches them.
func (s *Server) inquiriesRoutes(r chi.Router) {
	r.Get("/inquiries", redirectTo("/inquiries/"))
	r.Get("/inquiries/", s.inquiriesHome)
	r.Get("/inquiries/topics/{id}", s.inquiriesTopic)
	r.Post("/inquiries/topics/{id}", s.inquiriesAsk)
	r.Get("/inquiries/t/{token}", s.inquiriesThread)
	r.Get("/inquiries/t/{token}/events", s.inquiriesEvents)
	r.Post("/inquiries/t/{token}/reply", s.inquiriesReply)
	if s.cfg.Issuer != nil {
		r.Get("/agency/inquiries", s.staffQueue)
		r.Get("/agency/inquiries/topics", s.staffTopics)
		r.Post("/agency/inquiries/topics", s.staffPublish)
		r.Post("/agency/inquiries/topics/{id}/close", s.staffCloseTopic)
		r.Get("/agency/inquiries/{ref}", s.staffItem)
		r.Get("/agency/inquiries/{ref}/events", s.staffEvents)
		r.Post("/agency/inquiries/{ref}/{action}", s.staffAction)
	}
}

// formLimit bounds a posted form: the longest text in UTF-8 (4 bytes a
// character at most), percent-encoded (3 bytes a byte), and room.
const formLimit = inquiries.MaxText*4*3 + 4096

type topicView struct {
	*inquiries.Topic
	AgencyName string
	ProofNames []inquiries.Proof
}

func (s *Server) agencyName(ctx context.Context, slug string) string {
	if s.cfg.Issuer != nil {
		if a, err := s.cfg.Issuer.Agency(ctx, slug); err == nil {
			return a.Name
		}
	}
	return slug
}

func (s *Server) topicView(ctx context.Context, t *inquiries.Topic) topicView {
	v := topicView{Topic: t, AgencyName: s.agencyName(ctx, t.Agency)}
	for _, id := range t.Proofs {
		if p, ok := inquiries.ProofByID(id); ok {
			v.ProofNames = append(v.ProofNames, p)
		}
	}
	return v
}

func (s *Server) inquiriesHome(w http.ResponseWriter, r *http.Request) {
	ts, err := s.cfg.Inquiries.Topics(r.Context(), "")
	msg := ""
	if err != nil {
		msg = publicError(err)
	}
	var views []topicView
	for _, t := range ts {
		views = append(views, s.topicView(r.Context(), t))
	}
	s.render(w, r, "inquiries.html", struct {
		page
		Topics []topicView
	}{page{Title: "Ask an agency · 咨询", Error: msg}, views})
}

type askData struct {
	page
	Topic  topicView
	Text   string
	Max    int
	Chosen map[string]bool
}

func (s *Server) inquiriesTopic(w http.ResponseWriter, r *http.Request) {
	s.inquiriesTopicPage(w, r, http.StatusOK, "", "", nil)
}

func (s *Server) inquiriesTopicPage(w http.ResponseWriter, r *http.Request, status int, msg, text string, chosen map[string]bool) {
	t, err := s.cfg.Inquiries.Topic(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		s.render(w, r, "inquiries.html", struct {
			page
			Topics []topicView
		}{page{Title: "Ask an agency · 咨询", Error: publicError(err)}, nil})
		return
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.render(w, r, "ask.html", askData{page: page{Title: t.Name, Error: msg}, Topic: s.topicView(r.Context(), t), Text: text, Max: inquiries.MaxText, Chosen: chosen})
}

// clientKey is what the flood limits count by: the client as the rate
// limit sees it, behind --trusted-proxies too (the service stores only a
// keyed hash of it).
func clientKey(r *http.Request) string { return httpx.ClientKeyOf(r) }

func (s *Server) inquiriesAsk(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, formLimit)
	if err := r.ParseForm(); err != nil {
		s.inquiriesTopicPage(w, r, http.StatusRequestEntityTooLarge, explainCode("request_too_large"), "", nil)
		return
	}
	q := inquiries.Question{Text: r.PostForm.Get("text"), Proofs: r.PostForm["proof"]}
	chosen := map[string]bool{}
	for _, p := range q.Proofs {
		chosen[p] = true
	}
	a, err := s.cfg.Inquiries.Ask(r.Context(), chi.URLParam(r, "id"), clientKey(r), q)
	if err != nil {
		s.inquiriesTopicPage(w, r, pageStatus(err), publicError(err), q.Text, chosen)
		return
	}
	// Post, redirect, get: a reload never asks twice. ?new=1 shows the
	// "keep this link" note once.
	http.Redirect(w, r, "/inquiries/t/"+url.PathEscape(a.Token)+"?new=1", http.StatusSeeOther)
}

type threadPage struct {
	page
	Thread *inquiries.Thread
	Events string
	New    bool
	Link   string
	Live   template.HTML
}

type staffItemPage struct {
	page
	Thread *inquiries.Thread
	Events string
	Actor  string
	Live   template.HTML
}

type threadView struct {
	Thread *inquiries.Thread
	Token  string
	QR     template.URL
	Link   template.URL
	Max    int
	// Staff is set on the console's view.
	Staff bool
}

func (s *Server) threadView(th *inquiries.Thread, token string) threadView {
	v := threadView{Thread: th, Token: token, Max: inquiries.MaxText}
	if uri := s.cfg.Inquiries.RequestURI(th.Inquiry); uri != "" {
		v.QR, v.Link = qrDataURL(uri), deepLink(uri)
	}
	return v
}

func (s *Server) inquiriesThread(w http.ResponseWriter, r *http.Request) {
	tok := chi.URLParam(r, "token")
	th, err := s.cfg.Inquiries.Thread(r.Context(), tok)
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		s.render(w, r, "thread.html", threadPage{page: page{Title: "Inquiry · 咨询", Error: publicError(err)}})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, "thread.html", threadPage{page{Title: th.Inquiry.Reference}, th, "/inquiries/t/" + url.PathEscape(tok) + "/events", r.URL.Query().Get("new") == "1",
		s.cfg.PublicURL + "/inquiries/t/" + url.PathEscape(tok), s.renderFragment("inquiry-live", s.threadView(th, tok))})
}

// inquiriesEvents streams the citizen's thread.
func (s *Server) inquiriesEvents(w http.ResponseWriter, r *http.Request) {
	tok := chi.URLParam(r, "token")
	s.threadEvents(w, r, func(ctx context.Context) (*inquiries.Thread, error) { return s.cfg.Inquiries.Thread(ctx, tok) },
		func(th *inquiries.Thread) template.HTML {
			return s.renderFragment("inquiry-live", s.threadView(th, tok))
		})
}

// staffEvents streams an inquiry's thread to the console's item page.
func (s *Server) staffEvents(w http.ResponseWriter, r *http.Request) {
	st := s.staff(r)
	if st == nil {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	is, ref := inquiries.Staff{Agency: st.agency.Slug, Actor: st.actor}, chi.URLParam(r, "ref")
	s.threadEvents(w, r, func(ctx context.Context) (*inquiries.Thread, error) { return s.cfg.Inquiries.Inquiry(ctx, is, ref) },
		func(th *inquiries.Thread) template.HTML {
			return s.renderFragment("inquiry-messages", threadView{Thread: th, Staff: true, Max: inquiries.MaxText})
		})
}

// threadEvents streams a thread: a "thread" event with the rendered thread
// at every change, made on this replica or another (the inquiries service
// hears of both through the database's notifier; a two-second poll is the
// fallback if a notification is lost).
func (s *Server) threadEvents(w http.ResponseWriter, r *http.Request, load func(context.Context) (*inquiries.Thread, error), render func(*inquiries.Thread) template.HTML) {
	fl, ok := w.(http.Flusher)
	th, err := load(r.Context())
	if err != nil || !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, ": live\n\n")
	fl.Flush()
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Minute) // the browser reconnects
	defer cancel()
	last := version(th)
	for {
		changed, stop := s.cfg.Inquiries.Changed(th.Inquiry.ID)
		every := 2 * time.Second
		if th.Inquiry.Status == inquiries.StatusVerifying {
			every = 500 * time.Millisecond // settle the proof promptly
		}
		select {
		case <-ctx.Done():
			stop()
			return
		case <-changed:
		case <-time.After(every):
		}
		stop()
		if th, err = load(ctx); err != nil {
			return
		}
		if v := version(th); v != last {
			last = v
			html := render(th)
			fmt.Fprintf(w, "event: thread\ndata: %s\n\n", strings.ReplaceAll(string(html), "\n", " "))
			fl.Flush()
		} else {
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		}
	}
}

func version(th *inquiries.Thread) string {
	return fmt.Sprintf("%s/%d/%d", th.Inquiry.Status, len(th.Messages), th.Inquiry.UpdatedAt.Unix())
}

func (s *Server) inquiriesReply(w http.ResponseWriter, r *http.Request) {
	tok := chi.URLParam(r, "token")
	r.Body = http.MaxBytesReader(w, r.Body, formLimit)
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		s.render(w, r, "thread.html", threadPage{page: page{Title: "Inquiry · 咨询", Error: explainCode("request_too_large")}})
		return
	}
	if _, err := s.cfg.Inquiries.Reply(r.Context(), tok, r.PostForm.Get("text")); err != nil {
		th, terr := s.cfg.Inquiries.Thread(r.Context(), tok)
		if terr != nil {
			w.WriteHeader(http.StatusNotFound)
			s.render(w, r, "thread.html", threadPage{page: page{Title: "Inquiry · 咨询", Error: publicError(terr)}})
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		s.render(w, r, "thread.html", threadPage{page{Title: th.Inquiry.Reference, Error: publicError(err)}, th, "/inquiries/t/" + url.PathEscape(tok) + "/events", false, "",
			s.renderFragment("inquiry-live", s.threadView(th, tok))})
		return
	}
	http.Redirect(w, r, "/inquiries/t/"+url.PathEscape(tok), http.StatusSeeOther)
}

// --- staff ---

func (s *Server) inquiryStaff(w http.ResponseWriter, r *http.Request) (*staff, inquiries.Staff, bool) {
	st := s.staff(r)
	if st == nil {
		w.WriteHeader(http.StatusUnauthorized)
		s.agencySigninPage(w, r, "Please sign in. 请登录。")
		return nil, inquiries.Staff{}, false
	}
	return st, inquiries.Staff{Agency: st.agency.Slug, Actor: st.actor}, true
}

var queueTabs = []struct{ ID, Name, NameZH string }{
	{"open", "Open", "待处理"}, {"overdue", "Past reply time", "已超时"}, {"new", "New", "新咨询"},
	{"assigned", "Assigned", "已分配"}, {"answered", "Answered", "已答复"}, {"closed", "Closed", "已关闭"},
}

func (s *Server) staffQueue(w http.ResponseWriter, r *http.Request) {
	st, _, ok := s.inquiryStaff(w, r)
	if !ok {
		return
	}
	status := r.URL.Query().Get("status")
	if status == "" {
		status = "open"
	}
	msg := ""
	list, counts, err := s.cfg.Inquiries.Queue(r.Context(), st.agency.Slug, status, 200)
	if err != nil {
		msg = publicError(err)
	}
	topics := map[string]string{}
	if ts, err := s.cfg.Inquiries.AgencyTopics(r.Context(), st.agency.Slug); err == nil {
		for _, t := range ts {
			topics[t.ID] = t.Name
		}
	}
	s.render(w, r, "staff-queue.html", struct {
		page
		Agency string
		Status string
		Tabs   any
		Items  []*inquiries.Inquiry
		Counts inquiries.Counts
		Topics map[string]string
	}{page{Title: "Inquiries · 咨询", Error: msg}, st.agency.Name, status, queueTabs, list, counts, topics})
}

func (s *Server) staffTopics(w http.ResponseWriter, r *http.Request) { s.staffTopicsPage(w, r, "") }

func (s *Server) staffTopicsPage(w http.ResponseWriter, r *http.Request, msg string) {
	st, _, ok := s.inquiryStaff(w, r)
	if !ok {
		return
	}
	ts, err := s.cfg.Inquiries.AgencyTopics(r.Context(), st.agency.Slug)
	if err != nil {
		msg = publicError(err)
	}
	var views []topicView
	for _, t := range ts {
		views = append(views, s.topicView(r.Context(), t))
	}
	s.render(w, r, "staff-topics.html", struct {
		page
		Topics   []topicView
		Proofs   []inquiries.Proof
		CanProve bool
	}{page{Title: "Inquiry topics · 咨询主题", Error: msg}, views, inquiries.Proofs, s.cfg.Inquiries.CanProve()})
}

func (s *Server) staffPublish(w http.ResponseWriter, r *http.Request) {
	st, _, ok := s.inquiryStaff(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, formLimit)
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		s.staffTopicsPage(w, r, explainCode("request_too_large"))
		return
	}
	hours := 0
	fmt.Sscan(r.PostForm.Get("reply_hours"), &hours)
	_, err := s.cfg.Inquiries.PublishTopic(r.Context(), st.agency.Slug, inquiries.NewTopic{Name: r.PostForm.Get("name"), Description: r.PostForm.Get("description"),
		ReplyHours: hours, Anonymous: r.PostForm.Get("anonymous") == "true", Proofs: r.PostForm["proof"]})
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		s.staffTopicsPage(w, r, publicError(err))
		return
	}
	http.Redirect(w, r, "/agency/inquiries/topics", http.StatusSeeOther)
}

func (s *Server) staffCloseTopic(w http.ResponseWriter, r *http.Request) {
	st, _, ok := s.inquiryStaff(w, r)
	if !ok {
		return
	}
	if err := s.cfg.Inquiries.CloseTopic(r.Context(), st.agency.Slug, chi.URLParam(r, "id")); err != nil {
		w.WriteHeader(http.StatusNotFound)
		s.staffTopicsPage(w, r, publicError(err))
		return
	}
	http.Redirect(w, r, "/agency/inquiries/topics", http.StatusSeeOther)
}

func (s *Server) staffItem(w http.ResponseWriter, r *http.Request) {
	s.staffItemPage(w, r, http.StatusOK, "")
}

func (s *Server) staffItemPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	_, is, ok := s.inquiryStaff(w, r)
	if !ok {
		return
	}
	th, err := s.cfg.Inquiries.Inquiry(r.Context(), is, chi.URLParam(r, "ref"))
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		s.render(w, r, "staff-item.html", staffItemPage{page: page{Title: "Inquiry · 咨询", Error: publicError(err)}})
		return
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	v := threadView{Thread: th, Staff: true, Max: inquiries.MaxText}
	s.render(w, r, "staff-item.html", staffItemPage{page{Title: th.Inquiry.Reference, Error: msg}, th, "/agency/inquiries/" + url.PathEscape(th.Inquiry.Reference) + "/events", is.Actor, s.renderFragment("inquiry-messages", v)})
}

func (s *Server) staffAction(w http.ResponseWriter, r *http.Request) {
	_, is, ok := s.inquiryStaff(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, formLimit)
	if err := r.ParseForm(); err != nil {
		s.staffItemPage(w, r, http.StatusBadRequest, explainCode("request_too_large"))
		return
	}
	ref := chi.URLParam(r, "ref")
	var err error
	switch chi.URLParam(r, "action") {
	case "assign":
		_, err = s.cfg.Inquiries.Assign(r.Context(), is, ref, r.PostForm.Get("assignee"))
	case "answer":
		_, err = s.cfg.Inquiries.Answer(r.Context(), is, ref, r.PostForm.Get("text"), r.PostForm.Get("more_info") == "true")
	case "close":
		_, err = s.cfg.Inquiries.Close(r.Context(), is, ref)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.staffItemPage(w, r, pageStatus(err), publicError(err))
		return
	}
	http.Redirect(w, r, "/agency/inquiries/"+url.PathEscape(ref), http.StatusSeeOther)
}
