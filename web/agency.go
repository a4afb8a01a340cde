package web

import (
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/tongid/tong/issuer"
)

func (s *Server) agencyRoutes(r chi.Router) {
	r.Get("/agency/", s.agencyHome)
	r.Post("/agency/signin", s.agencySignin)
	r.Post("/agency/signout", s.agencySignout)
	r.Get("/agency/issue/{type}", s.agencyIssueForm)
	r.Post("/agency/issue/{type}", s.agencyIssue)
	r.Get("/agency/credentials", s.agencyCredentials)
	r.Post("/agency/credentials/{id}/{action}", s.agencyCredentialAction)
	r.Get("/agency/audit", s.agencyAudit)
}

// staff is a signed-in agency user: the agency and the token id (the
// actor the audit log names).
type staff struct {
	agency *issuer.Agency
	actor  string
}

func (s *Server) staff(r *http.Request) *staff { return s.staffFromCookie(r) }

// staffFromCookie reads the agency sign-in. The cookie is scoped to
// /agency/ and /meetings/official/ (officials' slots).
func (s *Server) staffFromCookie(r *http.Request) *staff {
	c, err := r.Cookie(cookieAgency)
	if err != nil {
		return nil
	}
	slug, actor, err := s.cfg.Issuer.TokenAgency(r.Context(), c.Value)
	if err != nil {
		return nil
	}
	ag, err := s.cfg.Issuer.Agency(r.Context(), slug)
	if err != nil {
		return nil
	}
	return &staff{agency: ag, actor: actor}
}

func (s *Server) agencySigninPage(w http.ResponseWriter, r *http.Request, msg string) {
	s.render(w, r, "signin.html", struct {
		page
		Action, Hint string
	}{page{"Agency sign-in · 机关登录", msg}, "/agency/signin", "Demo agency tokens are in demo.json (agencies[].token). 演示令牌见 demo.json。"})
}

func (s *Server) agencySignin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.agencySigninPage(w, r, "Malformed form.")
		return
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	if _, _, err := s.cfg.Issuer.TokenAgency(r.Context(), tok); err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		s.agencySigninPage(w, r, "Unknown or revoked agency token. 令牌无效。")
		return
	}
	s.setCookie(w, cookieAgency, "/agency/", tok, 8*3600)
	s.setCookie(w, cookieAgency, "/meetings/official/", tok, 8*3600)
	http.Redirect(w, r, "/agency/", http.StatusSeeOther)
}

func (s *Server) agencySignout(w http.ResponseWriter, r *http.Request) {
	s.setCookie(w, cookieAgency, "/agency/", "", -1)
	s.setCookie(w, cookieAgency, "/meetings/official/", "", -1)
	http.Redirect(w, r, "/agency/", http.StatusSeeOther)
}

func (s *Server) agencyHome(w http.ResponseWriter, r *http.Request) {
	st := s.staff(r)
	if st == nil {
		s.agencySigninPage(w, r, "")
		return
	}
	ts, err := s.cfg.Issuer.Types(r.Context(), st.agency.Slug)
	if err != nil {
		s.agencySigninPage(w, r, publicError(err))
		return
	}
	var list []*issuer.CredentialType
	for _, t := range ts {
		list = append(list, t)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	s.render(w, r, "agency.html", struct {
		page
		Agency *issuer.Agency
		Types  []*issuer.CredentialType
	}{page{Title: st.agency.Name}, st.agency, list})
}

// field is one input of the issue form, for one leaf claim.
type field struct {
	Name, Label, Kind string
	Required          bool
	Value             any
}

func formFields(t *issuer.CredentialType, values url.Values) []field {
	var out []field
	for _, c := range t.Claims {
		if c.Type == issuer.ClaimObject || c.Type == issuer.ClaimImage {
			continue
		}
		name := strings.Join(c.Path, ".")
		label := name
		if len(c.Display) > 0 {
			var parts []string
			for _, d := range c.Display {
				parts = append(parts, d.Name)
			}
			label = strings.Join(parts, " · ")
		}
		f := field{Name: name, Label: label, Kind: c.Type, Required: c.Mandatory && c.Type != issuer.ClaimBoolean}
		if values != nil {
			if c.Type == issuer.ClaimBoolean {
				f.Value = values.Get(name) == "true"
			} else {
				f.Value = values.Get(name)
			}
		}
		out = append(out, f)
	}
	return out
}

type issueData struct {
	page
	Type   *issuer.CredentialType
	Fields []field
}

func (s *Server) agencyIssueForm(w http.ResponseWriter, r *http.Request) {
	st := s.staff(r)
	if st == nil {
		s.agencySigninPage(w, r, "Please sign in. 请登录。")
		return
	}
	t, err := s.cfg.Issuer.Type(r.Context(), st.agency.Slug, chi.URLParam(r, "type"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	s.render(w, r, "issue.html", issueData{page: page{Title: t.ID}, Type: t, Fields: formFields(t, nil)})
}

// claimsFromForm builds the claims object from the form: dotted names
// become nested objects, "a|b" lists become arrays.
func claimsFromForm(t *issuer.CredentialType, values url.Values) map[string]any {
	claims := map[string]any{}
	for _, c := range t.Claims {
		if c.Type == issuer.ClaimObject || c.Type == issuer.ClaimImage {
			continue
		}
		name := strings.Join(c.Path, ".")
		raw := strings.TrimSpace(values.Get(name))
		var v any
		switch c.Type {
		case issuer.ClaimBoolean:
			v = raw == "true"
		case issuer.ClaimStringArray:
			if raw == "" {
				continue
			}
			var items []any
			for _, s := range strings.Split(raw, "|") {
				items = append(items, strings.TrimSpace(s))
			}
			v = items
		default:
			if raw == "" {
				continue
			}
			v = raw
		}
		obj := claims
		for _, p := range c.Path[:len(c.Path)-1] {
			next, ok := obj[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				obj[p] = next
			}
			obj = next
		}
		obj[c.Path[len(c.Path)-1]] = v
	}
	return claims
}

func (s *Server) agencyIssue(w http.ResponseWriter, r *http.Request) {
	st := s.staff(r)
	if st == nil {
		w.WriteHeader(http.StatusUnauthorized) // refused: the write needs a sign-in
		s.agencySigninPage(w, r, "Please sign in. 请登录。")
		return
	}
	t, err := s.cfg.Issuer.Type(r.Context(), st.agency.Slug, chi.URLParam(r, "type"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	o, err := s.cfg.Issuer.CreateOffer(r.Context(), st.agency.Slug, st.actor, issuer.OfferRequest{Type: t.ID, Claims: claimsFromForm(t, r.PostForm)})
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		s.render(w, r, "issue.html", issueData{page: page{Title: t.ID, Error: publicError(err)}, Type: t, Fields: formFields(t, r.PostForm)})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, "offer.html", struct {
		page
		Offer *issuer.Offer
		QR    template.URL
		Link  template.URL
	}{page{Title: "Offer · 凭证"}, o, qrDataURL(o.OfferURI), deepLink(o.OfferURI)})
}

func (s *Server) agencyCredentials(w http.ResponseWriter, r *http.Request) {
	s.agencyCredentialsPage(w, r, "")
}

func (s *Server) agencyCredentialsPage(w http.ResponseWriter, r *http.Request, msg string) {
	st := s.staff(r)
	if st == nil {
		s.agencySigninPage(w, r, "Please sign in. 请登录。")
		return
	}
	cs, err := s.cfg.Issuer.Credentials(r.Context(), st.agency.Slug, 200)
	if err != nil {
		msg = publicError(err)
	}
	s.render(w, r, "credentials.html", struct {
		page
		Credentials []issuer.CredentialInfo
	}{page{Title: "Issued credentials · 已签发凭证", Error: msg}, cs})
}

func (s *Server) agencyCredentialAction(w http.ResponseWriter, r *http.Request) {
	st := s.staff(r)
	if st == nil {
		w.WriteHeader(http.StatusUnauthorized) // refused: the write needs a sign-in
		s.agencySigninPage(w, r, "Please sign in. 请登录。")
		return
	}
	status := map[string]string{"revoke": issuer.StatusRevoked, "suspend": issuer.StatusSuspended, "unsuspend": issuer.StatusValid}[chi.URLParam(r, "action")]
	if status == "" {
		http.NotFound(w, r)
		return
	}
	if _, err := s.cfg.Issuer.SetStatus(r.Context(), st.agency.Slug, st.actor, chi.URLParam(r, "id"), status); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		s.agencyCredentialsPage(w, r, publicError(err))
		return
	}
	http.Redirect(w, r, "/agency/credentials", http.StatusSeeOther)
}

func (s *Server) agencyAudit(w http.ResponseWriter, r *http.Request) {
	st := s.staff(r)
	if st == nil {
		s.agencySigninPage(w, r, "Please sign in. 请登录。")
		return
	}
	es, err := s.cfg.Issuer.Audit(r.Context(), st.agency.Slug, 200)
	if err != nil {
		s.agencyCredentialsPage(w, r, publicError(err))
		return
	}
	s.render(w, r, "audit.html", struct {
		page
		Entries []issuer.AuditEntry
	}{page{Title: "Audit · 审计"}, es})
}
