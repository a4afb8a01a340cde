package oid4vci_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/issuer/oid4vci"
)

// signIn stands in for the verifier at the authorization endpoint in this
// package's tests (the verifier is not part of the issuer's HTTP face;
// TestReceiveAuthorized in wallet runs the real one). A session is
// pending until the test calls present, which gives the wallet's
// redirect back to the authorization endpoint with a fresh response
// code, as a same-device verifier does.
type signIn struct {
	mu       sync.Mutex
	n        int
	returnTo map[string]string // session → returnTo
	subjects map[string]string // session → subject ("" = refused)
	codes    map[string]string // session → response code
}

func (s *signIn) Start(ctx context.Context, agency, returnTo string) (string, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	id := fmt.Sprintf("sess%d", s.n)
	if s.returnTo == nil {
		s.returnTo = map[string]string{}
	}
	s.returnTo[id] = returnTo
	return id, "openid4vp://?client_id=x&request_uri=https%3A%2F%2Fverifier.example%2Fr%2F" + id, nil
}

func (s *signIn) Subject(ctx context.Context, session, responseCode string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subjects[session]
	switch {
	case !ok:
		return "", issuer.ErrAuthenticationPending
	case sub == "":
		return "", issuer.ErrAuthenticationFailed
	case responseCode == "" || subtle.ConstantTimeCompare([]byte(responseCode), []byte(s.codes[session])) != 1:
		return "", issuer.ErrResponseCode
	}
	return sub, nil
}

// present answers session for subject ("": a refused presentation) and
// returns the redirect the wallet gets (none when refused).
func (s *signIn) present(session, subject string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subjects == nil {
		s.subjects, s.codes = map[string]string{}, map[string]string{}
	}
	s.subjects[session] = subject
	if subject == "" {
		return ""
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	s.codes[session] = base64.RawURLEncoding.EncodeToString(b)
	return s.returnTo[session] + "?response_code=" + s.codes[session]
}

// last is the newest session's id.
func (s *signIn) last() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("sess%d", s.n)
}

const (
	testClient   = "wallet-client-1"
	testRedirect = "https://wallet.example/cb"
	testSubject  = "110101199003071234"
)

func authzEnv(t *testing.T, mod func(*issuer.Config)) (*env, *signIn) {
	si := &signIn{}
	e := newEnv(t, func(c *issuer.Config) {
		c.Authenticator = si
		if mod != nil {
			mod(c)
		}
	})
	return e, si
}

// stage creates an offer of typ for testSubject (the authorization code
// flow's staged record).
func (e *env) stage(tb testing.TB, typ, subject string) *oid4vci.OfferResponse {
	tb.Helper()
	types, _ := issuer.DemoTypes()
	var out oid4vci.OfferResponse
	if st, _ := e.postJSON(tb, "/issuers/psb/api/offers", map[string]any{"type": typ, "claims": types[typ].ExampleClaims, "subject": subject}, e.staff(), &out); st != 201 {
		tb.Fatalf("stage offer: %d", st)
	}
	return &out
}

// pkce returns a code_verifier and its S256 code_challenge.
func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func parForm(challenge string) url.Values {
	return url.Values{"response_type": {"code"}, "client_id": {testClient}, "redirect_uri": {testRedirect}, "state": {"st-42"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
		"authorization_details": {`[{"type":"openid_credential","credential_configuration_id":"citizen-identity"}]`}}
}

func (e *env) form(tb testing.TB, path string, f url.Values, hdr map[string]string, out any) int {
	tb.Helper()
	st, _ := e.call(tb, http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(f.Encode()), hdr, out)
	return st
}

type parOut struct {
	errBody
	RequestURI string `json:"request_uri"`
	ExpiresIn  int    `json:"expires_in"`
}

// authorizeJSON opens the authorization endpoint as a JSON client; the
// last result is the Cookie header that carries the page's binding.
func (e *env) authorizeJSON(tb testing.TB, clientID, requestURI string) (int, oid4vci.AuthorizationStatus, errBody, string) {
	tb.Helper()
	var out struct {
		oid4vci.AuthorizationStatus
		errBody
	}
	q := url.Values{"client_id": {clientID}, "request_uri": {requestURI}}
	st, h := e.call(tb, http.MethodGet, "/issuers/psb/authorize?"+q.Encode(), "", nil, map[string]string{"Accept": "application/json"}, &out)
	var cookie string
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == oid4vci.AuthzCookie {
			cookie = c.Name + "=" + c.Value
		}
	}
	return st, out.AuthorizationStatus, out.errBody, cookie
}

// status reads an authorization page (JSON), with the Cookie header
// cookie when it is not "".
func (e *env) status(tb testing.TB, u, cookie string) (int, oid4vci.AuthorizationStatus, errBody) {
	tb.Helper()
	var out struct {
		oid4vci.AuthorizationStatus
		errBody
	}
	hdr := map[string]string{"Accept": "application/json"}
	if cookie != "" {
		hdr["Cookie"] = cookie
	}
	st, _ := e.call(tb, http.MethodGet, u, "", nil, hdr, &out)
	return st, out.AuthorizationStatus, out.errBody
}

// started runs PAR and opens the authorization page; it returns the
// page and its binding cookie.
func (e *env) started(t *testing.T, form url.Values, hdr map[string]string) (oid4vci.AuthorizationStatus, string) {
	t.Helper()
	var p parOut
	if st := e.form(t, "/issuers/psb/par", form, hdr, &p); st != 201 || !strings.HasPrefix(p.RequestURI, issuer.RequestURIPrefix) || p.ExpiresIn <= 0 {
		t.Fatalf("PAR: %d %+v", st, p)
	}
	st, as, eb, cookie := e.authorizeJSON(t, form.Get("client_id"), p.RequestURI)
	if st != 200 || as.Status != "pending" || !strings.HasPrefix(as.PresentationURI, "openid4vp://") || cookie == "" {
		t.Fatalf("authorize: %d %+v %+v, cookie %q", st, as, eb, cookie)
	}
	return as, cookie
}

// authorized runs PAR, the authorization page and the citizen's
// same-device sign-in, and returns the code from the redirect.
func (e *env) authorized(t *testing.T, si *signIn, form url.Values, hdr map[string]string) string {
	t.Helper()
	as, cookie := e.started(t, form, hdr)
	if st, again, _ := e.status(t, as.StatusURI, ""); st != 200 || again.Status != "pending" {
		t.Fatalf("before presenting: %d %+v", st, again)
	}
	back := si.present(si.last(), testSubject)
	if !strings.HasPrefix(back, as.StatusURI+issuer.ReturnPath+"?response_code=") {
		t.Fatalf("the wallet is sent back to %q, want the authorization's return URL", back)
	}
	st, done, eb := e.status(t, back, cookie)
	if st != 200 || done.Status != "done" {
		t.Fatalf("back from the wallet: %d %+v %+v", st, done, eb)
	}
	u, err := url.Parse(done.RedirectTo)
	if err != nil || !strings.HasPrefix(done.RedirectTo, testRedirect+"?") {
		t.Fatalf("redirect %q", done.RedirectTo)
	}
	q := u.Query()
	if q.Get("state") != "st-42" || q.Get("iss") != e.ag.IssuerURL || q.Get("code") == "" {
		t.Fatalf("redirect %q: want code, state st-42 and iss", done.RedirectTo)
	}
	return q.Get("code")
}

func codeForm(code, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {testRedirect}, "client_id": {testClient}}
}

type tokenOut struct {
	errBody
	AccessToken          string `json:"access_token"`
	TokenType            string `json:"token_type"`
	AuthorizationDetails []struct {
		CredentialConfigurationID string   `json:"credential_configuration_id"`
		CredentialIdentifiers     []string `json:"credential_identifiers"`
	} `json:"authorization_details"`
}

// TestAuthorizationCodeFlow: PAR with PKCE and authorization_details, the
// authorization endpoint, the citizen's sign-in, the authorization_code
// grant and the credential request, through the HTTP server. The staged
// offer's credential is the one issued.
func TestAuthorizationCodeFlow(t *testing.T) {
	e, si := authzEnv(t, nil)
	staged := e.stage(t, "citizen-identity", testSubject)
	e.stage(t, "citizen-identity", "someone-else")
	var asm oid4vci.ASMetadata
	if st, _ := e.call(t, http.MethodGet, "/.well-known/oauth-authorization-server/issuers/psb", "", nil, nil, &asm); st != 200 {
		t.Fatalf("AS metadata: %d", st)
	}
	if asm.PushedAuthorizationRequestEndpoint != e.ag.IssuerURL+"/par" || asm.AuthorizationEndpoint != e.ag.IssuerURL+"/authorize" ||
		!asm.RequirePushedAuthorizationRequests || fmt.Sprint(asm.CodeChallengeMethodsSupported) != "[S256]" ||
		fmt.Sprint(asm.AuthorizationDetailsTypesSupported) != "[openid_credential]" || fmt.Sprint(asm.ResponseTypesSupported) != "[code]" {
		t.Fatalf("AS metadata: %+v", asm)
	}
	verifier, challenge := pkce()
	code := e.authorized(t, si, parForm(challenge), nil)
	var tok tokenOut
	if st := e.form(t, "/issuers/psb/token", codeForm(code, verifier), nil, &tok); st != 200 || tok.AccessToken == "" || tok.TokenType != "Bearer" {
		t.Fatalf("token: %d %+v", st, tok)
	}
	if len(tok.AuthorizationDetails) != 1 || tok.AuthorizationDetails[0].CredentialConfigurationID != "citizen-identity" ||
		fmt.Sprint(tok.AuthorizationDetails[0].CredentialIdentifiers) != "["+staged.CredentialID+"]" {
		t.Fatalf("authorization_details %+v, want the staged credential %s", tok.AuthorizationDetails, staged.CredentialID)
	}
	w := e.fetchOffer(t, e.offer(t, "citizen-identity").OfferURI) // for the metadata and nonce helpers only
	w.access = tok.AccessToken
	st, out := w.requestCredential(t, map[string]any{"credential_identifier": staged.CredentialID,
		"proofs": map[string]any{"jwt": []string{proof(t, newKeys(t, 1)[0], nil, w.proofClaims(w.nonce(t)))}}}, nil)
	if st != 200 {
		t.Fatalf("credential: %d %v", st, out)
	}
	// The staged offer was redeemed by the authorization code: its
	// pre-authorized code no longer works.
	if st, eb := w.redeem(t, w.code(), staged.TxCode, nil); st != 400 || eb.Error != "invalid_grant" {
		t.Fatalf("pre-authorized code after the authorization code: %d %+v", st, eb)
	}
}

// TestAuthorizationCodeHTML: a browser gets the page (QR code, wallet
// link, reload) and its binding cookie; after the presentation the page
// says so, and the same browser, sent back by the wallet, gets a 303 to
// the redirect_uri with the code (and the cookie is cleared).
func TestAuthorizationCodeHTML(t *testing.T) {
	e, si := authzEnv(t, nil)
	e.stage(t, "citizen-identity", testSubject)
	_, challenge := pkce()
	var p parOut
	if st := e.form(t, "/issuers/psb/par", parForm(challenge), nil, &p); st != 201 {
		t.Fatalf("PAR: %d", st)
	}
	jar, _ := cookiejar.New(nil)
	c := *e.client
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(u string) (int, string, http.Header) {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	q := url.Values{"client_id": {testClient}, "request_uri": {p.RequestURI}}
	st, body, h := get(e.srv.URL + "/issuers/psb/authorize?" + q.Encode())
	if st != 200 || !strings.Contains(body, `href="openid4vp://`) || !strings.Contains(body, `src="data:image/png;base64,`) ||
		!strings.Contains(body, `http-equiv="refresh" content="2;url=`+e.ag.IssuerURL+`/authorize/`) {
		t.Fatalf("authorization page: %d\n%s", st, body)
	}
	if sc := h.Get("Set-Cookie"); !strings.Contains(sc, oid4vci.AuthzCookie+"=") || !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") {
		t.Fatalf("binding cookie %q, want HttpOnly and SameSite=Lax", sc)
	}
	i := strings.Index(body, "url=") + 4
	status := body[i : i+strings.Index(body[i:], `"`)]
	back := si.present("sess1", testSubject)
	st, body, h = get(status)
	if st != 200 || h.Get("Location") != "" || !strings.Contains(body, `id="presented"`) || strings.Contains(body, "code=") {
		t.Fatalf("the page after presenting: %d %q\n%s", st, h.Get("Location"), body)
	}
	st, _, h = get(back)
	if st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), testRedirect+"?") || !strings.Contains(h.Get("Location"), "code=") {
		t.Fatalf("back from the wallet: %d %q", st, h.Get("Location"))
	}
	if sc := h.Get("Set-Cookie"); !strings.Contains(sc, oid4vci.AuthzCookie+"=;") || !strings.Contains(sc, "Max-Age=0") {
		t.Errorf("binding cookie after the redirect %q, want it cleared", sc)
	}
	// A replayed request_uri gets the error page, never a redirect.
	st, body, h = get(e.srv.URL + "/issuers/psb/authorize?" + q.Encode())
	if st != 400 || h.Get("Location") != "" || !strings.Contains(body, `data-code="invalid_request_uri"`) {
		t.Fatalf("replayed request_uri: %d %q\n%s", st, h.Get("Location"), body)
	}
}

// TestAuthorizationDenied: a citizen whose presentation fails goes back
// to the client with access_denied from the page; one for whom no offer
// is staged, from the return URL.
func TestAuthorizationDenied(t *testing.T) {
	e, si := authzEnv(t, nil)
	e.stage(t, "citizen-identity", "someone-else")
	for _, subject := range []string{testSubject, ""} {
		_, challenge := pkce()
		as, cookie := e.started(t, parForm(challenge), nil)
		var done oid4vci.AuthorizationStatus
		if back := si.present(si.last(), subject); back != "" {
			_, done, _ = e.status(t, back, cookie)
		} else {
			_, done, _ = e.status(t, as.StatusURI, "")
		}
		u, _ := url.Parse(done.RedirectTo)
		if done.Status != "done" || u == nil || u.Query().Get("error") != "access_denied" || u.Query().Get("state") != "st-42" || u.Query().Has("code") {
			t.Fatalf("subject %q: %+v, want access_denied", subject, done)
		}
	}
}

// TestAuthorizationSessionFixation: an attacker who starts a flow (PAR,
// the authorization page and its cookie) and gets a victim to answer the
// page's presentation request never gets a code. The page only says that
// the citizen presented; the victim's browser, sent back by the wallet
// with the right response_code but without the page's cookie, gets
// session_mismatch and no redirect, and burns the authorization; the
// attacker's cookie with a made-up or missing response_code gets the
// same; a replayed response_code gets not_found. The genuine browser
// (cookie and response_code) gets its code once.
func TestAuthorizationSessionFixation(t *testing.T) {
	e, si := authzEnv(t, nil)
	fixated := func(t *testing.T) (oid4vci.AuthorizationStatus, string, string) {
		e.stage(t, "citizen-identity", testSubject)
		_, challenge := pkce()
		as, cookie := e.started(t, parForm(challenge), nil)
		back := si.present(si.last(), testSubject) // the victim's wallet
		for _, c := range []string{"", cookie} {
			st, page, _ := e.status(t, as.StatusURI, c)
			if st != 200 || page.Status != "presented" || page.RedirectTo != "" {
				t.Fatalf("the page after the victim presented (cookie %v): %d %+v, want presented and no redirect", c != "", st, page)
			}
		}
		return as, cookie, back
	}
	refused := func(t *testing.T, name, u, cookie, code string) {
		t.Helper()
		st, got, eb := e.status(t, u, cookie)
		if st == 200 || eb.Error != code || got.RedirectTo != "" {
			t.Fatalf("%s: %d %+v %+v, want %s and no redirect", name, st, got, eb, code)
		}
	}
	t.Run("victim's browser", func(t *testing.T) {
		_, cookie, back := fixated(t)
		refused(t, "right response_code, no cookie", back, "", "session_mismatch")
		refused(t, "then with the cookie", back, cookie, "not_found")
	})
	t.Run("another cookie", func(t *testing.T) {
		_, _, back := fixated(t)
		refused(t, "right response_code, forged cookie", back, oid4vci.AuthzCookie+"=AAAA", "session_mismatch")
	})
	t.Run("attacker's cookie", func(t *testing.T) {
		as, cookie, back := fixated(t)
		ret := as.StatusURI + issuer.ReturnPath
		refused(t, "no response_code", ret, cookie, "session_mismatch")
		refused(t, "then the right one", back, cookie, "not_found")
	})
	t.Run("wrong response_code", func(t *testing.T) {
		as, cookie, _ := fixated(t)
		refused(t, "made-up response_code", as.StatusURI+issuer.ReturnPath+"?response_code=AAAAAAAAAAAAAAAAAAAAAA", cookie, "session_mismatch")
	})
	t.Run("genuine, then replayed", func(t *testing.T) {
		_, cookie, back := fixated(t)
		st, done, eb := e.status(t, back, cookie)
		if st != 200 || done.Status != "done" || !strings.Contains(done.RedirectTo, "code=") {
			t.Fatalf("genuine browser: %d %+v %+v", st, done, eb)
		}
		refused(t, "replayed response_code", back, cookie, "not_found")
	})
	t.Run("before presenting", func(t *testing.T) {
		_, challenge := pkce()
		as, cookie := e.started(t, parForm(challenge), nil)
		refused(t, "return before the presentation", as.StatusURI+issuer.ReturnPath+"?response_code=x", cookie, "session_mismatch")
	})
}

// TestPARHostile: each refused pushed authorization request gets a stable
// code, and the authorization endpoint refuses replays and foreign
// client_ids.
func TestPARHostile(t *testing.T) {
	e, _ := authzEnv(t, nil)
	_, challenge := pkce()
	for _, tc := range []struct {
		name string
		mod  func(url.Values)
		code string
	}{
		// Spec: RFC 7636 §4.4.1: "If the server requires Proof Key for
		// Code Exchange (PKCE) by OAuth public clients and the client does
		// not send the code_challenge in the request, the authorization
		// endpoint MUST return the authorization error response with the
		// error value set to invalid_request."
		{"no PKCE", func(f url.Values) { f.Del("code_challenge"); f.Del("code_challenge_method") }, "invalid_request"},
		{"plain", func(f url.Values) { f.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"no method", func(f url.Values) { f.Del("code_challenge_method") }, "invalid_request"},
		{"short challenge", func(f url.Values) { f.Set("code_challenge", "abc") }, "invalid_request"},
		{"request_uri inside", func(f url.Values) { f.Set("request_uri", issuer.RequestURIPrefix+"x") }, "invalid_request"},
		{"response_type token", func(f url.Values) { f.Set("response_type", "token") }, "invalid_request"},
		{"no client_id", func(f url.Values) { f.Del("client_id") }, "invalid_request"},
		{"javascript redirect", func(f url.Values) { f.Set("redirect_uri", "javascript:alert(1)") }, "invalid_request"},
		{"http redirect", func(f url.Values) { f.Set("redirect_uri", "http://wallet.example/cb") }, "invalid_request"},
		{"wrong details type", func(f url.Values) {
			f.Set("authorization_details", `[{"type":"openid_credentials","credential_configuration_id":"citizen-identity"}]`)
		}, "invalid_request"},
		{"unknown configuration", func(f url.Values) {
			f.Set("authorization_details", `[{"type":"openid_credential","credential_configuration_id":"nope"}]`)
		}, "invalid_request"},
		{"details not JSON", func(f url.Values) { f.Set("authorization_details", `{`) }, "invalid_request"},
		{"repeated state", func(f url.Values) { f["state"] = []string{"a", "b"} }, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := parForm(challenge)
			tc.mod(f)
			var p parOut
			if st := e.form(t, "/issuers/psb/par", f, nil, &p); st != 400 || p.Error != tc.code || p.RequestURI != "" {
				t.Fatalf("%s: %d %+v, want 400 %s", tc.name, st, p, tc.code)
			}
		})
	}
	// request_uri: one use, and only by the client that pushed it.
	var p parOut
	if st := e.form(t, "/issuers/psb/par", parForm(challenge), nil, &p); st != 201 {
		t.Fatalf("PAR: %d", st)
	}
	if st, _, eb, _ := e.authorizeJSON(t, "another-client", p.RequestURI); st != 400 || eb.Error != "invalid_request_uri" {
		t.Fatalf("foreign client_id: %d %+v", st, eb)
	}
	if st, _, eb, _ := e.authorizeJSON(t, testClient, p.RequestURI); st != 200 {
		t.Fatalf("first use: %d %+v", st, eb)
	}
	if st, _, eb, _ := e.authorizeJSON(t, testClient, p.RequestURI); st != 400 || eb.Error != "invalid_request_uri" {
		t.Fatalf("replayed request_uri: %d %+v, want invalid_request_uri", st, eb)
	}
	if st, _, eb, _ := e.authorizeJSON(t, testClient, issuer.RequestURIPrefix+strings.Repeat("A", 32)); st != 400 || eb.Error != "invalid_request_uri" {
		t.Fatalf("made-up request_uri: %d %+v", st, eb)
	}
}

// TestPARExpired: a request_uri is good for expires_in seconds only.
func TestPARExpired(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	e, _ := authzEnv(t, func(c *issuer.Config) {
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	_, challenge := pkce()
	var p parOut
	if st := e.form(t, "/issuers/psb/par", parForm(challenge), nil, &p); st != 201 {
		t.Fatalf("PAR: %d", st)
	}
	mu.Lock()
	now = now.Add(time.Duration(p.ExpiresIn+1) * time.Second)
	mu.Unlock()
	if st, _, eb, _ := e.authorizeJSON(t, testClient, p.RequestURI); st != 400 || eb.Error != "invalid_request_uri" {
		t.Fatalf("expired request_uri: %d %+v", st, eb)
	}
}

// TestAuthorizationCodeHostile: a code works once, only with its
// code_verifier, redirect_uri and client_id; a failed try burns it.
func TestAuthorizationCodeHostile(t *testing.T) {
	e, si := authzEnv(t, nil)
	for _, tc := range []struct {
		name string
		mod  func(url.Values)
	}{
		{"wrong code_verifier", func(f url.Values) { v, _ := pkce(); f.Set("code_verifier", v) }},
		{"no code_verifier", func(f url.Values) { f.Del("code_verifier") }},
		{"wrong redirect_uri", func(f url.Values) { f.Set("redirect_uri", "https://attacker.example/cb") }},
		{"no redirect_uri", func(f url.Values) { f.Del("redirect_uri") }},
		{"wrong client_id", func(f url.Values) { f.Set("client_id", "another-client") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.stage(t, "citizen-identity", testSubject)
			verifier, challenge := pkce()
			code := e.authorized(t, si, parForm(challenge), nil)
			f := codeForm(code, verifier)
			tc.mod(f)
			var tok tokenOut
			st := e.form(t, "/issuers/psb/token", f, nil, &tok)
			want := "invalid_grant"
			if tc.name == "no code_verifier" {
				want = "invalid_request"
			}
			if st != 400 || tok.Error != want || tok.AccessToken != "" {
				t.Fatalf("%s: %d %+v, want 400 %s", tc.name, st, tok, want)
			}
			if want == "invalid_grant" {
				// The code is burnt: the right parameters now fail too.
				if st := e.form(t, "/issuers/psb/token", codeForm(code, verifier), nil, &tok); st != 400 || tok.Error != "invalid_grant" {
					t.Fatalf("%s then right verifier: %d %+v, want the code spent", tc.name, st, tok)
				}
			}
		})
	}
	t.Run("used twice", func(t *testing.T) {
		e.stage(t, "citizen-identity", testSubject)
		verifier, challenge := pkce()
		code := e.authorized(t, si, parForm(challenge), nil)
		var tok tokenOut
		if st := e.form(t, "/issuers/psb/token", codeForm(code, verifier), nil, &tok); st != 200 {
			t.Fatalf("first use: %d %+v", st, tok)
		}
		tok = tokenOut{}
		if st := e.form(t, "/issuers/psb/token", codeForm(code, verifier), nil, &tok); st != 400 || tok.Error != "invalid_grant" || tok.AccessToken != "" {
			t.Fatalf("second use: %d %+v, want invalid_grant", st, tok)
		}
	})
}

// haipEnv is an issuer whose agency is set to high assurance.
func haipEnv(t *testing.T) (*env, *signIn) {
	e, si := authzEnv(t, nil)
	if err := e.svc.SetProfile(context.Background(), "psb", issuer.ProfileHAIP); err != nil {
		t.Fatal(err)
	}
	e.ag, _ = e.svc.Agency(context.Background(), "psb")
	return e, si
}

// TestHAIPRequiresDPoP: a high-assurance agency refuses PAR, token and
// credential requests of the authorization code flow without DPoP, keeps
// its pre-authorized code flow as it was, and runs the whole
// authorization code flow with one DPoP key: the code is bound to the
// PAR's key.
func TestHAIPRequiresDPoP(t *testing.T) {
	e, si := haipEnv(t)
	_, challenge := pkce()
	var p parOut
	if st := e.form(t, "/issuers/psb/par", parForm(challenge), nil, &p); st != 400 || p.Error != "invalid_dpop_proof" {
		t.Fatalf("PAR without DPoP: %d %+v", st, p)
	}
	// The pre-authorized code flow is unchanged (Tong's wallet and the
	// demo's citizens use it without DPoP).
	o := e.offer(t, "citizen-identity")
	w := e.fetchOffer(t, o.OfferURI)
	if st, eb := w.redeem(t, w.code(), o.TxCode, nil); st != 200 {
		t.Fatalf("pre-authorized token without DPoP at a haip agency: %d %+v", st, eb)
	}
	o = e.offer(t, "citizen-identity")

	staged := e.stage(t, "citizen-identity", testSubject)
	dk := newKeys(t, 1)[0]
	par := e.ag.IssuerURL + "/par"
	verifier, challenge := pkce()
	code := e.authorized(t, si, parForm(challenge), map[string]string{"DPoP": dpopProof(t, dk, "POST", par, "")})
	tokenURL := e.ag.IssuerURL + "/token"
	var tok tokenOut
	if st := e.form(t, "/issuers/psb/token", codeForm(code, verifier), nil, &tok); st != 400 || tok.Error != "invalid_dpop_proof" {
		t.Fatalf("token without DPoP: %d %+v", st, tok)
	}
	// The refused request spent nothing; another key is refused and
	// burns the code, so start again for the good run.
	if st := e.form(t, "/issuers/psb/token", codeForm(code, verifier), map[string]string{"DPoP": dpopProof(t, newKeys(t, 1)[0], "POST", tokenURL, "")}, &tok); st != 400 || tok.Error != "invalid_dpop_proof" {
		t.Fatalf("token with another DPoP key: %d %+v", st, tok)
	}
	verifier, challenge = pkce()
	code = e.authorized(t, si, parForm(challenge), map[string]string{"DPoP": dpopProof(t, dk, "POST", par, "")})
	tok = tokenOut{}
	if st := e.form(t, "/issuers/psb/token", codeForm(code, verifier), map[string]string{"DPoP": dpopProof(t, dk, "POST", tokenURL, "")}, &tok); st != 200 || tok.TokenType != "DPoP" {
		t.Fatalf("token with the PAR's key: %d %+v", st, tok)
	}
	w = e.fetchOffer(t, o.OfferURI)
	w.access = tok.AccessToken
	// The token is DPoP-bound: as a Bearer token it is refused.
	bearer := map[string]any{"credential_identifier": staged.CredentialID, "proofs": map[string]any{"jwt": []string{proof(t, newKeys(t, 1)[0], nil, w.proofClaims(w.nonce(t)))}}}
	if st, out := w.requestCredential(t, bearer, nil); st != 401 || out["error"] != "invalid_token" {
		t.Fatalf("credential with the token as Bearer: %d %v", st, out)
	}
	body := map[string]any{"credential_identifier": staged.CredentialID, "proofs": map[string]any{"jwt": []string{proof(t, newKeys(t, 1)[0], nil, w.proofClaims(w.nonce(t)))}}}
	if st, out := w.requestCredential(t, body, map[string]string{"Authorization": "DPoP " + tok.AccessToken,
		"DPoP": dpopProof(t, dk, "POST", w.meta.CredentialEndpoint, tok.AccessToken)}); st != 200 {
		t.Fatalf("credential with DPoP: %d %v", st, out)
	}
}

// TestDPoPHostileAtPAR: RFC 9449 §4.3's checks at the pushed
// authorization request endpoint of a high-assurance agency, each refused
// with invalid_dpop_proof; a jti works once; dpop_jkt must name the
// proof's key.
func TestDPoPHostileAtPAR(t *testing.T) {
	e, _ := haipEnv(t)
	dk := newKeys(t, 1)[0]
	par := e.ag.IssuerURL + "/par"
	_, challenge := pkce()
	for _, tc := range []struct {
		name  string
		proof string
		mod   func(url.Values)
	}{
		{"wrong htu", dpopWith(t, dk, "POST", e.ag.IssuerURL+"/token", "", nil), nil},
		{"wrong htm", dpopWith(t, dk, "GET", par, "", nil), nil},
		{"stale iat", dpopWith(t, dk, "POST", par, "", func(c map[string]any) { c["iat"] = time.Now().Add(-time.Hour).Unix() }), nil},
		{"future iat", dpopWith(t, dk, "POST", par, "", func(c map[string]any) { c["iat"] = time.Now().Add(time.Hour).Unix() }), nil},
		{"no jti", dpopWith(t, dk, "POST", par, "", func(c map[string]any) { delete(c, "jti") }), nil},
		{"dpop_jkt of another key", dpopWith(t, dk, "POST", par, "", nil), func(f url.Values) { f.Set("dpop_jkt", "c29tZW90aGVya2V5") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := parForm(challenge)
			if tc.mod != nil {
				tc.mod(f)
			}
			var p parOut
			if st := e.form(t, "/issuers/psb/par", f, map[string]string{"DPoP": tc.proof}, &p); st != 400 || p.Error != "invalid_dpop_proof" {
				t.Fatalf("%s: %d %+v, want 400 invalid_dpop_proof", tc.name, st, p)
			}
		})
	}
	reused := dpopWith(t, dk, "POST", par, "", nil)
	var p parOut
	if st := e.form(t, "/issuers/psb/par", parForm(challenge), map[string]string{"DPoP": reused}, &p); st != 201 {
		t.Fatalf("first use: %d %+v", st, p)
	}
	p = parOut{}
	if st := e.form(t, "/issuers/psb/par", parForm(challenge), map[string]string{"DPoP": reused}, &p); st != 400 || p.Error != "invalid_dpop_proof" {
		t.Fatalf("reused jti: %d %+v, want invalid_dpop_proof", st, p)
	}
}

var _ = keys.ES256
