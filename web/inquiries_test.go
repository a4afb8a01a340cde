package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/services/inquiries"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
	"github.com/tongid/tong/web"
)

// staffClient is a second browser-like client signed in to the console
// with token.
func (s *site) staffClient(t *testing.T, token string) *site {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	other := &site{c: s.c, hc: &http.Client{Jar: jar, Transport: s.c.Client().Transport}, inq: s.inq}
	if st, _ := other.post(t, "/agency/signin", url.Values{"token": {token}}); st != 200 {
		t.Fatalf("staff sign-in: %d", st)
	}
	return other
}

var secretRE = regexp.MustCompile(`/inquiries/t/(tong_iq_[A-Za-z0-9_-]+)`)

func TestInquiryPages(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	topic, err := s.inq.PublishTopic(ctx, "housing", inquiries.NewTopic{Name: "Housing subsidy", Description: "Who may apply", ReplyHours: 48, Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	if st, body := s.get(t, "/inquiries/"); st != 200 || !strings.Contains(body, "Housing subsidy") || !strings.Contains(body, "Beijing Municipal Commission of Housing") {
		t.Fatalf("topics page: %d %s", st, body)
	}
	const evil = `<script>alert(1)</script>`
	// Ask: post, redirect, get. The thread page is the secret link.
	resp, err := s.hc.PostForm(s.c.URL+"/inquiries/topics/"+topic.ID, url.Values{"text": {"Can I apply? " + evil}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(resp.Request.Response.Header.Get("Location")) == 0 {
		t.Fatalf("ask: %d (no redirect)", resp.StatusCode)
	}
	secret := secretRE.FindStringSubmatch(resp.Request.URL.Path)
	if secret == nil || !strings.Contains(string(body), "Keep this link") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("thread page %s: %s", resp.Request.URL, body)
	}
	if strings.Contains(string(body), evil) || !strings.Contains(string(body), "&lt;script&gt;") {
		t.Fatal("the thread page does not escape the question")
	}
	threadPath := "/inquiries/t/" + secret[1]
	ref := regexp.MustCompile(`INQ-[A-Z0-9]+`).FindString(string(body))

	// Staff of the housing commission see it; the PSB's staff do not.
	housingTok, _, _ := s.c.Issuer.CreateAPIToken(ctx, "housing", "test", "desk")
	housing := s.staffClient(t, housingTok)
	st, q := housing.get(t, "/agency/inquiries")
	if st != 200 || !strings.Contains(q, ref) || !regexp.MustCompile(`<strong>1</strong> open`).MatchString(q) {
		t.Fatalf("housing's queue: %d %s", st, q)
	}
	if strings.Contains(q, secret[1]) {
		t.Fatal("the queue shows the citizen's secret")
	}
	psb := s.staffClient(t, s.c.IssuerToken)
	if st, body := psb.get(t, "/agency/inquiries/"+ref); st != 404 || strings.Contains(body, "Can I apply") {
		t.Errorf("the PSB reads housing's inquiry: %d", st)
	}
	if st, _ := psb.post(t, "/agency/inquiries/"+ref+"/close", nil); st != 404 {
		t.Errorf("the PSB closes housing's inquiry: %d", st)
	}
	st, item := housing.get(t, "/agency/inquiries/"+ref)
	if st != 200 || strings.Contains(item, evil) || !strings.Contains(item, "&lt;script&gt;") || !strings.Contains(item, "asked anonymously") {
		t.Fatalf("item page: %d %s", st, item)
	}
	if st, _ := housing.post(t, "/agency/inquiries/"+ref+"/assign", url.Values{"assignee": {"Li Na"}}); st != 200 {
		t.Errorf("assign: %d", st)
	}
	if st, body := housing.post(t, "/agency/inquiries/"+ref+"/answer", url.Values{"text": {"Please send your lease number. " + evil}, "more_info": {"true"}}); st != 200 || !strings.Contains(body, "Li Na") {
		t.Errorf("answer: %d", st)
	}
	_, th := s.get(t, threadPath)
	if !strings.Contains(th, "Please send your lease number.") || !strings.Contains(th, "asks for more") || strings.Contains(th, evil) || strings.Contains(th, "Li Na") {
		t.Errorf("the citizen's thread after the answer: %s", th)
	}
	if strings.Contains(th, "Keep this link") {
		t.Error("the keep-this-link note shows again on a plain visit")
	}
	if st, _ := s.post(t, threadPath+"/reply", url.Values{"text": {"Lease 2024-118"}}); st != 200 {
		t.Errorf("reply: %d", st)
	}
	if st, _ := housing.post(t, "/agency/inquiries/"+ref+"/close", nil); st != 200 {
		t.Errorf("close: %d", st)
	}
	st, body2 := s.post(t, threadPath+"/reply", url.Values{"text": {"again"}})
	if st != 400 || !strings.Contains(body2, "This inquiry is closed.") || !strings.Contains(body2, "该咨询已关闭") || !strings.Contains(body2, "inquiry_closed") {
		t.Errorf("reply after close: %d %s", st, body2)
	}
	// Bad input keeps the text and says what to do, in both languages.
	st, body3 := s.post(t, "/inquiries/topics/"+topic.ID, url.Values{"text": {strings.Repeat("长", inquiries.MaxText+1)}})
	if st != 400 || !strings.Contains(body3, "Some input is missing or wrong.") || !strings.Contains(body3, "输入缺失或有误") {
		t.Errorf("a too long question: %d", st)
	}
	if st, _ := s.get(t, "/inquiries/t/tong_iq_nope"); st != 404 {
		t.Errorf("a wrong link: %d", st)
	}
	// The staff topics page publishes a topic.
	if st, _ := housing.post(t, "/agency/inquiries/topics", url.Values{"name": {"Rent rules"}, "reply_hours": {"24"}, "anonymous": {"true"}}); st != 200 {
		t.Errorf("publish: %d", st)
	}
	if _, body := s.get(t, "/inquiries/"); !strings.Contains(body, "Rent rules") {
		t.Error("the published topic is not listed")
	}
}

// The agency console: the offer page is post/redirect/get, a credential
// is found by the reference given to the citizen, and revoking asks first.
func TestConsoleOfferAndRevoke(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	s.post(t, "/agency/signin", url.Values{"token": {s.c.IssuerToken}})
	types, _ := issuer.DemoTypes()
	ex := types["citizen-identity"].ExampleClaims
	form := url.Values{"family_name": {ex["family_name"].(string)}, "given_name": {ex["given_name"].(string)}, "birthdate": {ex["birthdate"].(string)},
		"age_equal_or_over.18": {"true"}, "nationalities": {"CN"}, "address.locality": {"北京市"}, "address.district": {"东城区"},
		"personal_administrative_number": {ex["personal_administrative_number"].(string)}}
	noFollow := &http.Client{Jar: s.hc.Jar, Transport: s.hc.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(s.c.URL+"/agency/issue/citizen-identity", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/agency/offers/") {
		t.Fatalf("issue answered %d %q, want 303 to the offer page", resp.StatusCode, loc)
	}
	_, first := s.get(t, loc)
	_, again := s.get(t, loc) // a reload
	pinRE := regexp.MustCompile(`class="pinvalue">(\d{6})<`)
	refRE := regexp.MustCompile(`id="credential-ref">([A-Z2-7]{4}-[A-Z2-7]{4})<`)
	if pinRE.FindString(first) == "" || pinRE.FindString(first) != pinRE.FindString(again) || refRE.FindString(first) == "" {
		t.Fatalf("the reloaded offer page differs or lacks the PIN or reference:\n%s", again)
	}
	entries, _ := s.c.Issuer.Audit(ctx, "psb", 100)
	offers := 0
	for _, e := range entries {
		if e.Action == "offer.create" {
			offers++
		}
	}
	if offers != 1 {
		t.Errorf("%d offers after one post and two loads, want 1", offers)
	}
	// The PSB's page is not another agency's.
	housingTok, _, _ := s.c.Issuer.CreateAPIToken(ctx, "housing", "test", "desk")
	if st, _ := s.staffClient(t, housingTok).get(t, loc); st != 404 {
		t.Errorf("another agency opens the offer page: %d", st)
	}

	// The citizen redeems it; staff find it by the reference.
	w := s.c.Citizen(t, nil) // another identity and residence
	offerURI := hrefRE.FindStringSubmatch(first)[1]
	if _, err := w.Receive(ctx, strings.ReplaceAll(offerURI, "&amp;", "&"), pinRE.FindStringSubmatch(first)[1]); err != nil {
		t.Fatal(err)
	}
	ref := refRE.FindStringSubmatch(first)[1]
	_, list := s.get(t, "/agency/credentials?ref="+url.QueryEscape(strings.ToLower(strings.ReplaceAll(ref, "-", " "))))
	if n := strings.Count(list, `/revoke"`); n != 1 || !strings.Contains(list, ref) {
		t.Fatalf("search by reference %s finds %d credentials", ref, n)
	}
	credID := regexp.MustCompile(`/agency/credentials/(cred_[^/"]+)/revoke`).FindStringSubmatch(list)[1]
	if _, none := s.get(t, "/agency/credentials?ref=AAAA-AAAA"); strings.Contains(none, "/revoke") {
		t.Error("a wrong reference finds credentials")
	}
	// Revoking without the confirmation only shows the question.
	if st, body := s.post(t, "/agency/credentials/"+credID+"/revoke", nil); st != 200 || !strings.Contains(body, "Revoke this credential?") {
		t.Fatalf("unconfirmed revoke: %d", st)
	}
	if c, _ := s.c.Issuer.CredentialInfo(ctx, "psb", credID); c.Status != issuer.StatusValid {
		t.Fatalf("revoked without confirmation: %s", c.Status)
	}
	if st, body := s.get(t, "/agency/credentials/"+credID+"/revoke"); st != 200 || !strings.Contains(body, ref) || !strings.Contains(body, `name="confirm" value="yes"`) {
		t.Fatalf("confirmation page: %d", st)
	}
	s.post(t, "/agency/credentials/"+credID+"/revoke", url.Values{"confirm": {"yes"}})
	if c, _ := s.c.Issuer.CredentialInfo(ctx, "psb", credID); c.Status != issuer.StatusRevoked {
		t.Fatalf("after confirmation: %s", c.Status)
	}
}

// The counter's result speaks to the clerk: labels from the type's
// display metadata, the agency's name, and for a failure what to do.
func TestCounterResultForClerks(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	w := s.c.Citizen(t, nil)
	s.post(t, "/counter/signin", url.Values{"token": {s.c.CounterTokens["identity-basic"]}})
	check := func() string {
		t.Helper()
		resp, err := s.hc.PostForm(s.c.URL+"/counter/sessions", url.Values{"purpose": {"identity-basic"}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_ = tongtest.Answer(t, w, strings.ReplaceAll(hrefRE.FindStringSubmatch(string(b))[1], "&amp;", "&"))
		_, body := s.get(t, resp.Request.URL.Path)
		return body
	}
	body := check()
	clerk, _, _ := strings.Cut(body, "<details")
	for _, want := range []string{"✔ Verified", "核验通过", "Age 18 or over", "已满18岁", "yes", "Family name", "王", "Beijing Municipal Public Security Bureau", "Citizen identity"} {
		if !strings.Contains(clerk, want) {
			t.Errorf("the result lacks %q:\n%s", want, clerk)
		}
	}
	for _, dump := range []string{"map[", "urn:tong:vct", "did:tong:", "age_equal_or_over"} {
		if strings.Contains(clerk, dump) {
			t.Errorf("the clerk's part of the result shows %q", dump)
		}
	}
	// Revoke every credential of the PSB; the next check fails with a plain reason.
	cs, _ := s.c.Issuer.Credentials(ctx, "psb", 100)
	for _, c := range cs {
		_, _ = s.c.Issuer.SetStatus(ctx, "psb", "test", c.ID, issuer.StatusRevoked)
	}
	body = check()
	for _, want := range []string{"✘ Not verified", "The agency has revoked this credential.", "签发机关已撤销该凭证。", "Do not accept it.", "credential_revoked"} {
		if !strings.Contains(body, want) {
			t.Errorf("the failed result lacks %q", want)
		}
	}
}

// Every code a person can meet on a page is explained in both languages
// with a next step.
func TestEveryCodeIsExplained(t *testing.T) {
	codes := []string{
		string(verifier.CodeSessionExpired), string(verifier.CodeReplay), string(verifier.CodeStateMismatch), string(verifier.CodeWalletError),
		string(verifier.CodeMissingCredential), string(verifier.CodeVCTNotRequested), string(verifier.CodeUntrustedAuthority), string(verifier.CodeIssuerUnknown), string(verifier.CodeIssuerNotAccredited),
		string(verifier.CodeCredentialRevoked), string(verifier.CodeCredentialSuspended), string(verifier.CodeStatusUnavailable), string(verifier.CodeClaimMissing),
		string(verifier.CodeClaimValue), string(verifier.CodeTransactionData), string(verifier.CodeRegistryUnavailable), string(verifier.CodeUnknownPurpose),
		"expired", "not_yet_valid", "invalid_signature", "issuer_key_unresolved", "issuer_key_refused", "no_matching_credentials", "access_denied",
		"different_citizen", "not_booked",
	}
	for _, c := range []inquiries.Code{inquiries.CodeInvalidRequest, inquiries.CodeNotFound, inquiries.CodeTopicClosed, inquiries.CodeProofRequired,
		inquiries.CodeProofNotAllowed, inquiries.CodeRateLimited, inquiries.CodeClosed, inquiries.CodeTooManyMessages, inquiries.CodeConflict,
		inquiries.CodeNotVerified, inquiries.CodeProofUnavailable} {
		codes = append(codes, string(c))
	}
	for _, code := range codes {
		got := web.ExplainForTest(code)
		if got[0] == "" || got[1] == "" || got[2] == "" || got[3] == "" {
			t.Errorf("code %s is not explained in both languages with a next step: %q", code, got)
		}
	}
}

// syncLog is a log sink safe for the server's goroutines.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }
func (l *syncLog) String() string              { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// The access log never holds a citizen's secret link.
func TestInquirySecretNotLogged(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	logs := &syncLog{}
	srv, err := web.New(web.Config{DB: s.c.DB, PublicURL: s.c.URL, Issuer: s.c.Issuer, Verifier: s.c.Verifier, Inquiries: s.inq,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	topic, _ := s.inq.PublishTopic(ctx, "housing", inquiries.NewTopic{Name: "Housing", ReplyHours: 24, Anonymous: true})
	resp, err := ts.Client().PostForm(ts.URL+"/inquiries/topics/"+topic.ID, url.Values{"text": {"q"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	secret := secretRE.FindStringSubmatch(resp.Request.URL.Path)
	if resp.StatusCode != 200 || secret == nil {
		t.Fatalf("ask: %d %s", resp.StatusCode, resp.Request.URL)
	}
	for _, p := range []string{"", "/reply"} {
		if p == "" {
			r, _ := ts.Client().Get(ts.URL + "/inquiries/t/" + secret[1])
			r.Body.Close()
		} else {
			r, _ := ts.Client().PostForm(ts.URL+"/inquiries/t/"+secret[1]+p, url.Values{"text": {"more"}})
			r.Body.Close()
		}
	}
	out := logs.String()
	if !strings.Contains(out, "/inquiries/t/{token}") {
		t.Fatalf("no access log of the thread page:\n%s", out)
	}
	if strings.Contains(out, secret[1]) {
		t.Errorf("the access log holds the secret:\n%s", out)
	}
}

// An expired credential: the counter says so and sends the citizen to the
// agency to renew it.
func TestCounterExpiredCredential(t *testing.T) {
	later := time.Now().AddDate(6, 0, 0) // past the identity's five years
	c := tongtest.New(t, tongtest.Options{VerifierConfig: func(cfg *verifier.Config) { cfg.Now = func() time.Time { return later } }})
	srv, err := web.New(web.Config{DB: c.DB, PublicURL: c.URL, Issuer: c.Issuer, Verifier: c.Verifier})
	if err != nil {
		t.Fatal(err)
	}
	c.Mux.Handle("/counter/*", srv.Handler())
	jar, _ := cookiejar.New(nil)
	s := &site{c: c, hc: &http.Client{Jar: jar, Transport: c.Client().Transport}}
	w := c.Citizen(t, nil)
	s.post(t, "/counter/signin", url.Values{"token": {c.CounterTokens["identity-basic"]}})
	resp, err := s.hc.PostForm(c.URL+"/counter/sessions", url.Values{"purpose": {"identity-basic"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_ = tongtest.Answer(t, w, strings.ReplaceAll(hrefRE.FindStringSubmatch(string(b))[1], "&amp;", "&"))
	_, body := s.get(t, resp.Request.URL.Path)
	for _, want := range []string{"✘ Not verified", "The credential has expired.", "凭证已过期。", "renew it at the agency that issued it", "请市民到签发机关续办凭证", ": expired</small>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the expired result lacks %q", want)
		}
	}
}
