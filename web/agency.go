package web

import (
	"crypto/sha256"
	"encoding/base32"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/services/inquiries"
)

func (s *Server) agencyRoutes(r chi.Router) {
	r.Get("/agency/", s.agencyHome)
	r.Post("/agency/signin", s.agencySignin)
	r.Post("/agency/signout", s.agencySignout)
	r.Get("/agency/issue/{type}", s.agencyIssueForm)
	r.Post("/agency/issue/{type}", s.agencyIssue)
	r.Get("/agency/offers/{id}", s.agencyOffer)
	r.Get("/agency/credentials", s.agencyCredentials)
	r.Get("/agency/credentials/{id}/revoke", s.agencyRevokeConfirm)
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
		s.agencySigninPage(w, r, explainCode("invalid_request"))
		return
	}
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	if _, _, err := s.cfg.Issuer.TokenAgency(r.Context(), tok); err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		s.agencySigninPage(w, r, "Unknown or revoked agency token. 令牌无效或已撤销。 Check the token, or ask your administrator for a new one. 请核对令牌，或向管理员申请新令牌。")
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
	d := struct {
		page
		Agency    *issuer.Agency
		Types     []*issuer.CredentialType
		Inquiries bool
		Counts    *inquiries.Counts
	}{page: page{Title: st.agency.Name}, Agency: st.agency, Types: list, Inquiries: s.cfg.Inquiries != nil}
	if d.Inquiries {
		if c, err := s.cfg.Inquiries.Counts(r.Context(), st.agency.Slug); err == nil {
			d.Counts = &c
		}
	}
	s.render(w, r, "agency.html", d)
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
	// Post, redirect, get: reloading the offer page shows the same offer
	// and never creates a second one.
	s.offers.put(st.agency.Slug, o)
	http.Redirect(w, r, "/agency/offers/"+url.PathEscape(o.ID), http.StatusSeeOther)
}

func (s *Server) agencyOffer(w http.ResponseWriter, r *http.Request) {
	st := s.staff(r)
	if st == nil {
		s.agencySigninPage(w, r, "Please sign in. 请登录。")
		return
	}
	o := s.offers.get(st.agency.Slug, chi.URLParam(r, "id"), time.Now())
	if o == nil {
		w.WriteHeader(http.StatusNotFound)
		s.agencyCredentialsPage(w, r, "This offer has expired or was made on another server; its PIN is shown only while it can be redeemed. Issue it again if the citizen did not receive it. 该二维码已过期或不在本服务器，请重新签发。")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, "offer.html", struct {
		page
		Offer     *issuer.Offer
		Reference string
		QR        template.URL
		Link      template.URL
	}{page{Title: "Offer · 凭证"}, o, credentialRef(o.CredentialID), qrDataURL(o.OfferURI), deepLink(o.OfferURI)})
}

// offerCache keeps the offers this server made until they expire, so that
// the offer page can be reloaded (the issuer keeps only the PIN's MAC).
type offerCache struct {
	mu sync.Mutex
	m  map[string]*issuer.Offer
}

func (c *offerCache) put(agency string, o *issuer.Offer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*issuer.Offer{}
	}
	now := time.Now()
	for k, v := range c.m {
		if now.After(v.ExpiresAt) {
			delete(c.m, k)
		}
	}
	c.m[agency+"\x00"+o.ID] = o
}

func (c *offerCache) get(agency, id string, now time.Time) *issuer.Offer {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.m[agency+"\x00"+id]
	if o == nil || now.After(o.ExpiresAt) {
		return nil
	}
	return o
}

// credentialRef is the short reference staff give a citizen with an offer
// ("K7QD-M2XA"), so the credential can be found later without its id.
func credentialRef(id string) string {
	h := sha256.Sum256([]byte("tong-credential-ref\x00" + id))
	b := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:5])
	return b[:4] + "-" + b[4:8]
}

// normRef makes a typed reference comparable: upper case, no spaces or
// dashes.
func normRef(s string) string {
	return strings.NewReplacer("-", "", " ", "").Replace(strings.ToUpper(strings.TrimSpace(s)))
}

type credentialRow struct {
	issuer.CredentialInfo
	Reference string
	TypeName  string
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
	cs, err := s.cfg.Issuer.Credentials(r.Context(), st.agency.Slug, 1000)
	if err != nil {
		msg = publicError(err)
	}
	names := map[string]string{}
	ts, _ := s.cfg.Issuer.Types(r.Context(), st.agency.Slug)
	for id, t := range ts {
		en, zh := displayNames(t.Display)
		names[id] = strings.TrimSpace(en + " " + zh)
	}
	// The search is over what the agency keeps: the reference, the type,
	// the status and the issue date (claims are not kept).
	q := r.URL.Query()
	ref, typ, status, day := normRef(q.Get("ref")), q.Get("type"), q.Get("status"), q.Get("issued")
	var rows []credentialRow
	for _, c := range cs {
		row := credentialRow{CredentialInfo: c, Reference: credentialRef(c.ID), TypeName: names[c.Type]}
		if row.TypeName == "" {
			row.TypeName = c.Type
		}
		switch {
		case ref != "" && normRef(row.Reference) != ref && c.ID != q.Get("ref"):
			continue
		case typ != "" && c.Type != typ, status != "" && c.Status != status:
			continue
		case day != "" && c.IssuedAt.Local().Format(time.DateOnly) != day:
			continue
		}
		rows = append(rows, row)
		if len(rows) == 200 {
			break
		}
	}
	s.render(w, r, "credentials.html", struct {
		page
		Credentials           []credentialRow
		Types                 map[string]string
		Ref, Type, Status, On string
	}{page{Title: "Issued credentials · 已签发凭证", Error: msg}, rows, names, q.Get("ref"), typ, status, day})
}

// agencyRevokeConfirm asks before revoking: revocation is final.
func (s *Server) agencyRevokeConfirm(w http.ResponseWriter, r *http.Request) {
	s.revokeConfirmPage(w, r, http.StatusOK)
}

func (s *Server) revokeConfirmPage(w http.ResponseWriter, r *http.Request, status int) {
	st := s.staff(r)
	if st == nil {
		s.agencySigninPage(w, r, "Please sign in. 请登录。")
		return
	}
	c, err := s.cfg.Issuer.CredentialInfo(r.Context(), st.agency.Slug, chi.URLParam(r, "id"))
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		s.agencyCredentialsPage(w, r, publicError(err))
		return
	}
	name := c.Type
	if t, err := s.cfg.Issuer.Type(r.Context(), st.agency.Slug, c.Type); err == nil {
		en, zh := displayNames(t.Display)
		name = strings.TrimSpace(en + " " + zh)
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.render(w, r, "revoke.html", struct {
		page
		Credential credentialRow
	}{page{Title: "Revoke? · 撤销？"}, credentialRow{CredentialInfo: *c, Reference: credentialRef(c.ID), TypeName: name}})
}

func (s *Server) agencyCredentialAction(w http.ResponseWriter, r *http.Request) {
	st := s.staff(r)
	if st == nil {
		w.WriteHeader(http.StatusUnauthorized) // refused: the write needs a sign-in
		s.agencySigninPage(w, r, "Please sign in. 请登录。")
		return
	}
	action := chi.URLParam(r, "action")
	status := map[string]string{"revoke": issuer.StatusRevoked, "suspend": issuer.StatusSuspended, "unsuspend": issuer.StatusValid}[action]
	if status == "" {
		http.NotFound(w, r)
		return
	}
	_ = r.ParseForm()
	if action == "revoke" && r.PostForm.Get("confirm") != "yes" {
		// Revocation is final: only the confirmation page's form does it.
		s.revokeConfirmPage(w, r, http.StatusOK)
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
