package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/services/inquiries"
	"github.com/tongid/tong/services/inquiries/sqlstore"
	"github.com/tongid/tong/services/meetings"
	"github.com/tongid/tong/services/payments"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
	"github.com/tongid/tong/wallet"
	"github.com/tongid/tong/web"
	"github.com/tongid/tong/web/walletapp"
)

// site is a city with the pages mounted, and a browser-like client.
type site struct {
	c   *tongtest.City
	hc  *http.Client
	inq *inquiries.Service
}

func newSite(t *testing.T) *site { return newSiteWith(t, siteOptions{}) }

// siteOptions adjust newSiteWith.
type siteOptions struct {
	Wallet       *walletapp.App
	IssuerConfig func(*issuer.Config)
}

func newSiteWith(t testing.TB, opts siteOptions) *site {
	// Status lists are cached for at most a millisecond, so a revocation
	// shows at the next check (in production: the list's ttl).
	c := tongtest.New(t, tongtest.Options{VerifierConfig: func(cfg *verifier.Config) { cfg.CacheTTL = time.Millisecond }, IssuerConfig: opts.IssuerConfig})
	ctx := context.Background()
	bookCtr, _ := c.Verifier.Authenticate(ctx, c.CounterTokens["meeting-booking"])
	checkCtr, _ := c.Verifier.Authenticate(ctx, c.CounterTokens["meeting-checkin"])
	payCtr, _ := c.Verifier.Authenticate(ctx, c.CounterTokens["pay-fee"])
	inqCtr, _, err := c.Verifier.AddCounter(ctx, "dongcheng", "inquiries", inquiries.Purposes())
	if err != nil {
		t.Fatal(err)
	}
	inqStore, err := sqlstore.Open(ctx, c.DB)
	if err != nil {
		t.Fatal(err)
	}
	inq, err := inquiries.New(inquiries.Config{Store: inqStore, Verifier: c.Verifier, Counter: inqCtr, Secret: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := meetings.New(ctx, meetings.Config{DB: c.DB, Verifier: c.Verifier, Booking: bookCtr, CheckIn: checkCtr, Secret: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	hallKey, _ := c.Keys.Load("org-dongcheng")
	ps, err := payments.New(ctx, payments.Config{DB: c.DB, Verifier: c.Verifier, Counter: payCtr, Payee: "Dongcheng hall", Signer: hallKey,
		KeyID: c.HallDID + "#key-1", Issuer: c.HallDID, Secret: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	off, _ := ms.AddOfficial(ctx, meetings.Official{Name: "张伟 Zhang Wei", Title: "Director", Agency: "Dongcheng District"})
	for i := range 3 {
		if _, err := ms.Publish(ctx, off.ID, time.Now().Add(time.Duration(24+i)*time.Hour), 30, "Room 101", "Housing subsidy"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ps.CreateOrder(ctx, "Dongcheng hall", "FEE-TEST-001", "Residence certificate", 2000); err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{DB: c.DB, PublicURL: c.URL, Issuer: c.Issuer, Verifier: c.Verifier,
		Meetings: ms, Payments: ps, Inquiries: inq, MeetingsBookingCounter: bookCtr.ID, MeetingsCheckinCounter: checkCtr.ID, PaymentsCounter: payCtr.ID,
		Explorer: &web.Explorer{Log: c.Log, LogKey: c.LogKey}, Wallet: opts.Wallet})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/agency/*", "/counter/*", "/meetings/*", "/payments/*", "/inquiries/*", "/inquiries", "/explorer/*", "/static/*", "/wallet", "/wallet/*", "/", "/healthz", "/readyz", "/metrics"} {
		c.Mux.Handle(p, srv.Handler())
	}
	jar, _ := cookiejar.New(nil)
	return &site{c: c, hc: &http.Client{Jar: jar, Transport: c.Client().Transport}, inq: inq}
}

func (s *site) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := s.hc.Get(s.c.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (s *site) post(t *testing.T, path string, form url.Values) (int, string) {
	t.Helper()
	resp, err := s.hc.PostForm(s.c.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var hrefRE = regexp.MustCompile(`href="(openid[^"]+)"`)

func TestAgencyAndCounterPages(t *testing.T) {
	s := newSite(t)
	if st, body := s.get(t, "/agency/"); st != 200 || !strings.Contains(body, `name="token"`) {
		t.Fatalf("sign-in page: %d", st)
	}
	if st, _ := s.post(t, "/agency/signin", url.Values{"token": {"tong_at_wrong"}}); st != 401 {
		t.Fatalf("wrong token: %d", st)
	}
	if st, body := s.post(t, "/agency/signin", url.Values{"token": {s.c.IssuerToken}}); st != 200 || !strings.Contains(body, "Public Security Bureau") {
		t.Fatalf("sign in: %d", st)
	}
	st, body := s.get(t, "/agency/issue/citizen-identity")
	if st != 200 || !strings.Contains(body, `name="address.locality"`) {
		t.Fatalf("issue form: %d", st)
	}
	types, _ := issuer.DemoTypes()
	ex := types["citizen-identity"].ExampleClaims
	form := url.Values{"family_name": {ex["family_name"].(string)}, "given_name": {ex["given_name"].(string)}, "birthdate": {ex["birthdate"].(string)},
		"age_equal_or_over.18": {"true"}, "nationalities": {"CN"}, "address.locality": {"北京市"}, "address.district": {"东城区"},
		"personal_administrative_number": {ex["personal_administrative_number"].(string)}}
	st, body = s.post(t, "/agency/issue/citizen-identity", form)
	if st != 200 || !strings.Contains(body, `src="data:image/png;base64,`) || !strings.Contains(body, "pinvalue") {
		t.Fatalf("offer page: %d %s", st, body)
	}
	offerURI := html.UnescapeString(hrefRE.FindStringSubmatch(body)[1])
	pin := regexp.MustCompile(`class="pinvalue">(\d{6})<`).FindStringSubmatch(body)[1]

	w, err := wallet.Create(context.Background(), filepath.Join(t.TempDir(), "w.db"), []byte("p"), wallet.Options{HTTPClient: s.c.Client(),
		AllowLoopbackHTTP: true, Registry: s.c.Registry, RequireRegistry: true, KDF: wallet.KDF{Alg: "argon2id", Time: 1, Memory: 8 << 10, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Receive(context.Background(), offerURI, pin); err != nil {
		t.Fatal(err)
	}

	// Counter: sign in, start identity-basic, the wallet answers, the page shows the verdict.
	if st, body := s.post(t, "/counter/signin", url.Values{"token": {s.c.CounterTokens["identity-basic"]}}); st != 200 || !strings.Contains(body, "Show QR code") {
		t.Fatalf("counter sign in: %d", st)
	}
	resp, err := s.hc.PostForm(s.c.URL+"/counter/sessions", url.Values{"purpose": {"identity-basic"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	sessionPath := resp.Request.URL.Path
	reqURI := html.UnescapeString(hrefRE.FindStringSubmatch(string(b))[1])
	m, err := w.Match(context.Background(), reqURI)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Present(context.Background(), m, func(context.Context, *wallet.ConsentRequest) (wallet.Decision, error) {
		return wallet.Decision{Approve: true}, nil
	}); err != nil {
		t.Fatal(err)
	}
	st, body = s.get(t, sessionPath)
	if st != 200 || !strings.Contains(body, "verdict ok") || !strings.Contains(body, "王") {
		t.Fatalf("session page after the answer: %d %s", st, body)
	}
	if _, body := s.get(t, "/counter/history"); !strings.Contains(body, "✔ Verified") {
		t.Error("history lacks the check")
	}

	// Revoke from the console; the next check fails with a clear reason.
	_, body = s.get(t, "/agency/credentials")
	credID := regexp.MustCompile(`/agency/credentials/(cred_[^/]+)/revoke`).FindStringSubmatch(body)[1]
	if st, _ := s.post(t, "/agency/credentials/"+credID+"/revoke", url.Values{"confirm": {"yes"}}); st != 200 {
		t.Fatalf("revoke: %d", st)
	}
	resp, _ = s.hc.PostForm(s.c.URL+"/counter/sessions", url.Values{"purpose": {"identity-basic"}})
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	sessionPath = resp.Request.URL.Path
	m, err = w.Match(context.Background(), html.UnescapeString(hrefRE.FindStringSubmatch(string(b))[1]))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Present(context.Background(), m, func(context.Context, *wallet.ConsentRequest) (wallet.Decision, error) {
		return wallet.Decision{Approve: true}, nil
	})
	if _, body := s.get(t, sessionPath); !strings.Contains(body, "verdict bad") || !strings.Contains(body, "credential_revoked") {
		t.Fatalf("after revocation the counter shows: %s", body)
	}
}

// TestPagesEscapeUserData posts <script> into every text field.
func TestPagesEscapeUserData(t *testing.T) {
	s := newSite(t)
	s.post(t, "/agency/signin", url.Values{"token": {s.c.IssuerToken}})
	const evil = `<script>alert(1)</script>`
	form := url.Values{}
	for _, f := range []string{"family_name", "given_name", "birthdate", "nationalities", "address.locality", "address.district", "personal_administrative_number"} {
		form.Set(f, evil)
	}
	st, body := s.post(t, "/agency/issue/citizen-identity", form)
	if strings.Contains(body, evil) {
		t.Fatalf("the issue page echoes unescaped input (status %d)", st)
	}
	if !strings.Contains(body, "&lt;script&gt;") {
		t.Fatalf("the form lost the citizen's input instead of showing it escaped: %d", st)
	}
	s.post(t, "/counter/signin", url.Values{"token": {s.c.CounterTokens["pay-fee"]}})
	_, body = s.post(t, "/counter/sessions", url.Values{"purpose": {"pay-fee"}, "amount": {evil}, "order_id": {evil}, "payee": {evil}})
	if strings.Contains(body, evil) {
		t.Fatal("the counter page echoes unescaped input")
	}
	for _, c := range []struct{ method, path string }{
		{"POST", "/meetings/checkin"}, {"POST", "/meetings/cancel"}, {"GET", "/explorer/did?did="},
	} {
		var body string
		if c.method == "POST" {
			_, body = s.post(t, c.path, url.Values{"number": {evil}})
		} else {
			_, body = s.get(t, c.path+url.QueryEscape(evil))
		}
		if strings.Contains(body, evil) {
			t.Errorf("%s %s echoes unescaped input", c.method, c.path)
		}
	}
	if _, body := s.get(t, "/explorer/did/"+url.PathEscape(evil)); strings.Contains(body, evil) {
		t.Error("the explorer echoes an unescaped DID")
	}
	// A cross-site form post is refused.
	req, _ := http.NewRequest(http.MethodPost, s.c.URL+"/agency/credentials/x/revoke", strings.NewReader(""))
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := s.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d", resp.StatusCode)
	}
}

// TestPublishSlot: agency staff publish an official's slot; anyone else
// is refused.
func TestPublishSlot(t *testing.T) {
	s := newSite(t)
	_, body := s.get(t, "/meetings/")
	m := regexp.MustCompile(`/meetings/official/(off_[^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no official on the meetings page")
	}
	form := url.Values{"date": {time.Now().AddDate(0, 0, 3).Format(time.DateOnly)}, "time": {"11:30"}, "place": {"Room 7"}, "topic": {"Pensions 养老金"}}
	if st, _ := s.post(t, "/meetings/official/"+m[1]+"/slots", form); st != http.StatusUnauthorized {
		t.Fatalf("publishing without signing in: %d", st)
	}
	s.post(t, "/agency/signin", url.Values{"token": {s.c.IssuerToken}})
	st, body := s.post(t, "/meetings/official/"+m[1]+"/slots", form)
	if st != 200 || !strings.Contains(body, "Room 7") && !strings.Contains(body, "No bookings") {
		t.Fatalf("publish: %d", st)
	}
	if _, body := s.get(t, "/meetings/"); !strings.Contains(body, "Pensions 养老金") {
		t.Fatal("the new slot is not listed")
	}
}
