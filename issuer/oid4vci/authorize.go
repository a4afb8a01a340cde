package oid4vci

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tongid/tong/credential/vciwire"
	"github.com/tongid/tong/internal/httpx"
	"github.com/tongid/tong/internal/qr"
	"github.com/tongid/tong/issuer"
)

// The authorization code flow's endpoints (OpenID4VCI 1.0 §5, RFC 9126,
// RFC 7636). The pushed authorization request endpoint takes the request;
// the authorization endpoint takes client_id and request_uri, sets the
// authorization's binding cookie on the user agent and shows a page
// asking the citizen to present their identity credential. The
// presentation is same-device (OpenID4VP 1.0 §8.2): the wallet opens
// .../authorize/{authz}/done?response_code=... in the user agent, and
// only there, with the cookie and the right response_code, is the user
// agent sent to the client's redirect_uri with code, state and iss. The
// page itself reloads only to learn that the citizen presented.

// AuthzCookie is the name of the cookie that binds an authorization to
// the user agent that opened its page (Path: the authorization's own
// path, HttpOnly, SameSite=Lax so that it comes along when the wallet
// opens the return URL, Secure on https).
const AuthzCookie = "tong_authz"

// AuthorizationStatus is the JSON form of the authorization page, for
// clients that send Accept: application/json (a wallet that handles the
// presentation itself, or a test).
type AuthorizationStatus = vciwire.AuthorizationStatus

func (a *API) par(w http.ResponseWriter, r *http.Request) {
	ag, ok := a.agency(w, r)
	if !ok {
		return
	}
	if err := httpx.ParseForm(w, r, MaxTokenBody); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if mt := r.Header.Get("Content-Type"); !strings.HasPrefix(mt, "application/x-www-form-urlencoded") {
		fail(w, r, &issuer.Error{Code: issuer.CodeInvalidRequest, Description: "the pushed authorization request must be application/x-www-form-urlencoded"})
		return
	}
	// Spec: RFC 9126 §2.1: "The request_uri authorization request
	// parameter is one exception, and it MUST NOT be provided."
	if r.PostForm.Has("request_uri") {
		fail(w, r, &issuer.Error{Code: issuer.CodeInvalidRequest, Description: "request_uri must not be sent to the pushed authorization request endpoint"})
		return
	}
	names := []string{"response_type", "client_id", "redirect_uri", "state", "scope", "code_challenge", "code_challenge_method", "authorization_details", "dpop_jkt"}
	for _, k := range names {
		if len(r.PostForm[k]) > 1 {
			fail(w, r, &issuer.Error{Code: issuer.CodeInvalidRequest, Description: k + " is repeated"})
			return
		}
	}
	if err := a.clientAttestation(r, ag, r.PostForm.Get("client_id")); err != nil {
		fail(w, r, err)
		return
	}
	// Spec: RFC 9449 §10.1: a DPoP proof may be sent with the PAR
	// request; its key then binds the authorization code.
	d, err := a.dpop(r, ag.IssuerURL+"/par", "")
	if err != nil {
		fail(w, r, err)
		return
	}
	f := r.PostForm.Get
	req := issuer.PARRequest{ResponseType: f("response_type"), ClientID: f("client_id"), RedirectURI: f("redirect_uri"), State: f("state"),
		Scope: f("scope"), CodeChallenge: f("code_challenge"), CodeChallengeMethod: f("code_challenge_method"),
		AuthorizationDetails: f("authorization_details"), DPoPJKT: f("dpop_jkt")}
	if d != nil {
		req.DPoPKey = d.JKT
	}
	resp, err := a.svc.PushAuthorizationRequest(r.Context(), ag.Slug, req)
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	// Spec: RFC 9126 §2.2: "the authorization server MUST respond with
	// HTTP status code 201".
	httpx.WriteJSON(w, r, http.StatusCreated, resp)
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func (a *API) authorize(w http.ResponseWriter, r *http.Request) {
	ag, ok := a.agency(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	for _, k := range []string{"client_id", "request_uri"} {
		if len(q[k]) != 1 {
			a.authzError(w, r, &issuer.Error{Code: issuer.CodeInvalidRequest, Description: k + " is required once"})
			return
		}
	}
	az, err := a.svc.Authorize(r.Context(), ag.Slug, q.Get("client_id"), q.Get("request_uri"))
	if err != nil {
		// Spec: RFC 6749 §4.1.2.1: with an invalid request the redirect
		// URI is not trusted: the error is shown, not redirected.
		a.authzError(w, r, err)
		return
	}
	http.SetCookie(w, authzCookie(ag, az.ID, az.Binding(), int(issuer.AuthenticationTTL/time.Second)))
	a.authzPage(w, r, ag, az.ID, az.RequestURI)
}

// authzStatus is the page's reload target: the page again while the
// citizen has not presented, a page that says so once they have (the
// code goes only to the user agent the wallet sends to authzDone), and
// the redirect with error=access_denied when the presentation failed.
func (a *API) authzStatus(w http.ResponseWriter, r *http.Request) {
	ag, ok := a.agency(w, r)
	if !ok {
		return
	}
	id := chi.URLParam(r, "authz")
	res, err := a.svc.PollAuthorization(r.Context(), ag.Slug, id)
	if err != nil {
		a.authzError(w, r, err)
		return
	}
	switch {
	case res.Pending:
		a.authzPage(w, r, ag, id, res.PresentationURI)
	case res.Presented:
		w.Header().Set("Cache-Control", "no-store")
		if wantsJSON(r) {
			httpx.WriteJSON(w, r, http.StatusOK, AuthorizationStatus{Status: "presented"})
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = authzPresentedTmpl.Execute(w, map[string]string{"Agency": ag.Name})
	default:
		a.authzRedirect(w, r, res.RedirectTo)
	}
}

// authzDone is where the wallet sends the citizen's user agent after the
// presentation (the verifier's redirect_uri): with the binding cookie and
// the response_code, the redirect to the client with the code.
//
// Spec: OpenID4VP 1.0 #section-8.2 (direct_post with a redirect_uri
// carrying a response_code) and #name-session-fixation: the party the
// user agent returns to checks the response_code, and the user agent
// must be the one that started the flow.
func (a *API) authzDone(w http.ResponseWriter, r *http.Request) {
	ag, ok := a.agency(w, r)
	if !ok {
		return
	}
	id := chi.URLParam(r, "authz")
	var binding string
	if c, err := r.Cookie(AuthzCookie); err == nil {
		binding = c.Value
	}
	q := r.URL.Query()
	if len(q["response_code"]) > 1 {
		a.authzError(w, r, &issuer.Error{Code: issuer.CodeInvalidRequest, Description: "response_code is repeated"})
		return
	}
	res, err := a.svc.FinishAuthorization(r.Context(), ag.Slug, id, binding, q.Get("response_code"))
	if err != nil {
		a.authzError(w, r, err)
		return
	}
	http.SetCookie(w, authzCookie(ag, id, "", -1))
	a.authzRedirect(w, r, res.RedirectTo)
}

// authzCookie is the binding cookie of one authorization, scoped to its
// path so that several in one browser do not clash.
func authzCookie(ag *issuer.Agency, id, value string, maxAge int) *http.Cookie {
	path := "/"
	if u, err := url.Parse(ag.IssuerURL + "/authorize/" + url.PathEscape(id)); err == nil {
		path = u.EscapedPath()
	}
	return &http.Cookie{Name: AuthzCookie, Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: strings.HasPrefix(ag.IssuerURL, "https:"), SameSite: http.SameSiteLaxMode}
}

// authzRedirect sends the user agent to the client (JSON: tells where).
func (a *API) authzRedirect(w http.ResponseWriter, r *http.Request, to string) {
	w.Header().Set("Cache-Control", "no-store")
	if wantsJSON(r) {
		httpx.WriteJSON(w, r, http.StatusOK, AuthorizationStatus{Status: "done", RedirectTo: to})
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (a *API) authzPage(w http.ResponseWriter, r *http.Request, ag *issuer.Agency, id, presentation string) {
	status := ag.IssuerURL + "/authorize/" + id
	w.Header().Set("Cache-Control", "no-store")
	if wantsJSON(r) {
		httpx.WriteJSON(w, r, http.StatusOK, AuthorizationStatus{Status: "pending", PresentationURI: presentation, StatusURI: status})
		return
	}
	png, err := qr.PNG(presentation, 320)
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = authzTmpl.Execute(w, map[string]any{
		"Agency": ag.Name, "Presentation": template.URL(presentation), "Status": status,
		"QR": template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
	})
}

func (a *API) authzError(w http.ResponseWriter, r *http.Request, err error) {
	if wantsJSON(r) {
		fail(w, r, err)
		return
	}
	code, desc := string(issuer.CodeOf(err)), "the request could not be processed"
	var ie *issuer.Error
	if errors.As(err, &ie) {
		desc = ie.Description
	} else {
		fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(httpx.StatusIn(statuses, ie.Code))
	_ = authzErrTmpl.Execute(w, map[string]string{"Code": code, "Description": desc})
}

// The page reloads itself (meta refresh: the server's CSP allows no
// inline script) every two seconds.
var authzTmpl = template.Must(template.New("authz").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="2;url={{.Status}}">
<title>Sign in to {{.Agency}} with your identity credential</title></head>
<body><main>
<h1>{{.Agency}}</h1>
<p>To receive this credential, prove who you are with the citizen identity credential in your wallet.
<br lang="zh">请用钱包中的居民身份凭证证明您的身份。</p>
<p><img id="qr" src="{{.QR}}" width="320" height="320" alt="QR code of the presentation request"></p>
<p><a id="open-wallet" href="{{.Presentation}}">Open in wallet / 在钱包中打开</a></p>
<p id="waiting">Waiting for your wallet… This page moves on by itself.</p>
</main></body></html>
`))

var authzPresentedTmpl = template.Must(template.New("authzpresented").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Signed in to {{.Agency}}</title></head>
<body><main>
<h1>{{.Agency}}</h1>
<p id="presented">Your wallet has presented. Continue in the browser window your wallet opened.
If your wallet is on another device than this page, start again from the wallet on that device.
<br lang="zh">您的钱包已出示凭证。请在钱包打开的浏览器窗口中继续。</p>
</main></body></html>
`))

var authzErrTmpl = template.Must(template.New("authzerr").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authorization failed · 授权未完成</title></head>
<body><main><h1>Authorization failed <span lang="zh">授权未完成</span></h1><p id="error" data-code="{{.Code}}">{{.Description}}</p>
<p>Go back to your wallet and start again. <span lang="zh">请回到钱包重新开始。</span></p>
<p><small>Code for support <span lang="zh">支持代码</span>: {{.Code}}</small></p></main></body></html>
`))

// clientAttestation checks OAuth-Client-Attestation and its PoP when a
// request sends either (they are optional: Tong's wallets are public
// clients).
func (a *API) clientAttestation(r *http.Request, ag *issuer.Agency, clientID string) error {
	att, pop := r.Header.Values(issuer.HeaderClientAttestation), r.Header.Values(issuer.HeaderClientAttestationPoP)
	if len(att) == 0 && len(pop) == 0 {
		return nil
	}
	if len(att) != 1 || len(pop) != 1 {
		return &issuer.Error{Code: issuer.CodeInvalidClient, Description: "send exactly one OAuth-Client-Attestation and one OAuth-Client-Attestation-PoP header"}
	}
	_, err := a.svc.VerifyClientAttestation(r.Context(), att[0], pop[0], clientID, ag.IssuerURL)
	return err
}
