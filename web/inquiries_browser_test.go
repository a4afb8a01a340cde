package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/tongid/tong/internal/browsertest"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/services/inquiries"
	"github.com/tongid/tong/tongtest"
)

// phone makes the browser a 390×844 phone screen.
func (b *browser) phone() {
	b.t.Helper()
	b.run(emulation.SetDeviceMetricsOverride(390, 844, 2, true))
}

// waitText waits until sel's text contains want (live updates).
func (b *browser) waitText(sel, want string) string {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		var ok bool
		if err := chromedp.Run(b.ctx, chromedp.Evaluate(`(function(){var e=document.querySelector(`+jsString(sel)+`);return e?e.innerText:""})()`, &got)); err != nil {
			b.t.Fatal(err)
		}
		if ok = strings.Contains(got, want); ok {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("%s never showed %q; it shows %q", sel, want, got)
	return ""
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// TestBrowserInquiryCitizen asks on a phone, proving residence and age with
// the wallet; the thread page follows the proof and the agency's answer live,
// without a reload, and the citizen replies from it.
func TestBrowserInquiryCitizen(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	topic, err := s.inq.PublishTopic(ctx, "psb", inquiries.NewTopic{Name: "Senior citizen card 老年人优待证", Description: "For residents aged 60 or over.",
		ReplyHours: 48, Proofs: []string{"resident", "age-60"}})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s.c.URL)
	b.phone()
	u := s.c.URL
	b.run(chromedp.Navigate(u+"/inquiries/"), chromedp.WaitVisible(`a[href="/inquiries/topics/`+topic.ID+`"]`, chromedp.ByQuery))
	b.shot("inquiries topics phone")
	b.run(chromedp.Click(`a[href="/inquiries/topics/`+topic.ID+`"]`, chromedp.ByQuery), chromedp.WaitVisible(`#text`, chromedp.ByQuery))
	var width int
	b.run(chromedp.Evaluate(`document.documentElement.scrollWidth`, &width))
	if width > 390 {
		t.Errorf("the ask page is %d px wide on a 390 px phone", width)
	}
	b.run(chromedp.SendKeys(`#text`, "When can I pick up my card?", chromedp.ByQuery),
		chromedp.Click(`input[value="resident"]`, chromedp.ByQuery), chromedp.Click(`input[value="age-60"]`, chromedp.ByQuery))
	b.shot("inquiry ask phone")
	b.run(chromedp.Submit(`#text`, chromedp.ByQuery), chromedp.WaitVisible(`#ask-proof img.qr`, chromedp.ByQuery))
	if !strings.Contains(b.text(`#keep`), "Keep this link") {
		t.Error("the new thread does not tell the citizen to keep the link")
	}
	b.shot("inquiry proof QR phone")
	link := b.attr(`#ask-proof a`, "href")
	var threadURL string
	b.run(chromedp.Location(&threadURL))
	pu, _ := url.Parse(threadURL)

	// The wallet proves residence and age 60+; the page turns to "Received" live.
	w := s.c.Citizen(t, func(typ string, m map[string]any) {
		if typ == "citizen-identity" {
			m["age_equal_or_over"] = map[string]any{"18": true, "60": true}
		}
	})
	if err := tongtest.Answer(t, w, link); err != nil {
		t.Fatal(err)
	}
	b.waitText(`#thread .status`, "Received")
	var qr int
	b.run(chromedp.Evaluate(`document.querySelectorAll('#ask-proof').length`, &qr))
	if qr != 0 {
		t.Error("the QR code stays after the proof")
	}

	// Staff see only what was proved, and answer; the citizen's page shows it live.
	q, _, err := s.inq.Queue(ctx, "psb", "", 0)
	if err != nil || len(q) != 1 {
		t.Fatalf("queue: %v %d", err, len(q))
	}
	th, err := s.inq.Inquiry(ctx, inquiries.Staff{Agency: "psb", Actor: "atk"}, q[0].Reference)
	if err != nil || len(th.Inquiry.Disclosed) != 2 {
		t.Fatalf("staff view: %+v %v", th, err)
	}
	if _, err := s.inq.Answer(ctx, inquiries.Staff{Agency: "psb", Actor: "atk"}, q[0].Reference, "Bring this reference to the Dongcheng hall, desk 4.", false); err != nil {
		t.Fatal(err)
	}
	b.waitText(`#thread`, "desk 4")
	b.waitText(`#thread .status`, "Answered")
	var updates string
	b.run(chromedp.Evaluate(`document.getElementById('live').dataset.updates || "0"`, &updates))
	if updates == "0" {
		t.Error("the thread changed without a live update")
	}
	b.shot("inquiry answered phone")
	b.run(chromedp.SendKeys(`#reply-text`, "Thank you!", chromedp.ByQuery), chromedp.Submit(`#reply-text`, chromedp.ByQuery))
	b.waitText(`#thread`, "Thank you!")
	b.waitText(`#thread .status`, "Being handled")
	if strings.Contains(pu.Path, "INQ-") || !strings.HasPrefix(pu.Path, "/inquiries/t/tong_iq_") {
		t.Errorf("thread URL %s", pu.Path)
	}
}

// TestBrowserInquiryStaff works the console's queue: publish a topic, see
// the counts, open an item, assign, ask for more, close.
func TestBrowserInquiryStaff(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	b := newBrowser(t, s.c.URL)
	u := s.c.URL
	b.run(emulation.SetDeviceMetricsOverride(1280, 900, 1, false))
	housingTok, _, _ := s.c.Issuer.CreateAPIToken(ctx, "housing", "test", "desk")
	b.run(chromedp.Navigate(u+"/agency/"), chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.SendKeys("#token", housingTok, chromedp.ByQuery), chromedp.Submit("#token", chromedp.ByQuery),
		chromedp.WaitVisible(`a[href="/agency/inquiries"]`, chromedp.ByQuery))
	b.run(chromedp.Navigate(u+"/agency/inquiries/topics"), chromedp.WaitVisible(`#publish`, chromedp.ByQuery),
		chromedp.SendKeys(`#t-name`, "Housing subsidy 住房补贴", chromedp.ByQuery), chromedp.SendKeys(`#t-desc`, "Who may apply", chromedp.ByQuery),
		chromedp.Submit(`#publish`, chromedp.ByQuery), chromedp.WaitVisible(`form[action$="/close"]`, chromedp.ByQuery))
	b.shot("staff inquiry topics")
	ts, _ := s.inq.AgencyTopics(ctx, "housing")
	if len(ts) != 1 || !ts[0].Anonymous {
		t.Fatalf("published topics: %+v", ts)
	}
	asked, err := s.inq.Ask(ctx, ts[0].ID, "203.0.113.9", inquiries.Question{Text: "Does the subsidy cover <b>rent</b>?"})
	if err != nil {
		t.Fatal(err)
	}
	ref := asked.Inquiry.Reference
	b.run(chromedp.Navigate(u+"/agency/inquiries"), chromedp.WaitVisible(`a[href="/agency/inquiries/`+ref+`"]`, chromedp.ByQuery))
	if got := b.text(`#count-open`); !strings.HasPrefix(got, "1 open") {
		t.Errorf("open count %q", got)
	}
	b.shot("staff inquiry queue")
	b.run(chromedp.Click(`a[href="/agency/inquiries/`+ref+`"]`, chromedp.ByQuery), chromedp.WaitVisible(`#answer`, chromedp.ByQuery))
	if got := b.text(`.thread`); !strings.Contains(got, "Does the subsidy cover <b>rent</b>?") {
		t.Errorf("the question shows as %q, want the text as typed (escaped)", got)
	}
	b.run(chromedp.SendKeys(`#assignee`, "Li Na", chromedp.ByQuery), chromedp.Submit(`#assign`, chromedp.ByQuery))
	b.waitText(`.status`, "Li Na")
	b.run(chromedp.SendKeys(`#answer-text`, "Which district do you live in?", chromedp.ByQuery), chromedp.Click(`input[name="more_info"]`, chromedp.ByQuery),
		chromedp.Submit(`#answer`, chromedp.ByQuery))
	b.waitText(`.thread`, "asks for more")
	b.shot("staff inquiry item")
	th, _ := s.inq.Thread(ctx, asked.Token)
	if th.Inquiry.Status != inquiries.StatusAnswered || th.Messages[len(th.Messages)-1].Kind != inquiries.KindMoreInfo {
		t.Errorf("after asking for more: %s", th.Inquiry.Status)
	}
	// The citizen answers; the item page shows it without a reload.
	if _, err := s.inq.Reply(ctx, asked.Token, "Dongcheng district."); err != nil {
		t.Fatal(err)
	}
	b.waitText(`#thread`, "Dongcheng district.")
	b.run(chromedp.Submit(`#close`, chromedp.ByQuery))
	b.waitText(`.status`, "Closed")
	b.run(chromedp.Navigate(u+"/agency/inquiries?status=closed"), chromedp.WaitVisible(`a[href="/agency/inquiries/`+ref+`"]`, chromedp.ByQuery))
}

// TestBrowserHomeLinks follows every link of the home page in Chromium on
// a 390 px phone: each answers 200 and fits the screen (no sideways
// scrolling), and every role's page is linked. Signed in, the pages the
// agency console and the counter link fit as well.
func TestBrowserHomeLinks(t *testing.T) {
	s := newSite(t)
	b := newBrowser(t, s.c.URL)
	b.phone()
	var hrefs []string
	b.run(chromedp.Navigate(s.c.URL+"/"), chromedp.WaitVisible(`ul.roles`, chromedp.ByQuery),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('main a[href], header a[href]')).map(a => a.getAttribute('href'))`, &hrefs))
	b.shot("home page")
	for _, want := range []string{"/agency/", "/counter/", "/meetings/", "/payments/", "/inquiries/", "/explorer/"} {
		found := false
		for _, h := range hrefs {
			found = found || h == want
		}
		if !found {
			t.Errorf("the home page does not link %s (links: %v)", want, hrefs)
		}
	}
	visit := func(h string) {
		t.Helper()
		resp, err := chromedp.RunResponse(b.ctx, chromedp.Navigate(s.c.URL+h))
		if err != nil {
			t.Fatalf("follow %s: %v", h, err)
		}
		if resp.Status != 200 {
			t.Errorf("%s answers %d", h, resp.Status)
		}
		if !strings.HasPrefix(resp.MimeType, "text/html") {
			return // health, metrics: not pages
		}
		var bad []string
		b.run(chromedp.Evaluate(browsertest.OverflowJS, &bad))
		if len(bad) > 0 {
			t.Errorf("%s is wider than a 390 px phone: %q", h, bad)
		}
	}
	for _, h := range hrefs {
		visit(h)
	}
	// Signed in: the console's and the counter's own pages.
	links := func(sel string) []string {
		var out []string
		b.run(chromedp.Evaluate(`Array.from(document.querySelectorAll(`+"`"+sel+"`"+`)).map(a => a.getAttribute('href')).filter(h => h.startsWith('/'))`, &out))
		return out
	}
	b.run(chromedp.Navigate(s.c.URL+"/agency/"), chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.SendKeys("#token", s.c.IssuerToken, chromedp.ByQuery), chromedp.Submit("#token", chromedp.ByQuery),
		chromedp.WaitVisible(`a[href="/agency/credentials"]`, chromedp.ByQuery))
	inner := links(`main a[href]`)
	b.run(chromedp.Navigate(s.c.URL+"/counter/"), chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.SendKeys("#token", s.c.CounterTokens["pay-fee"], chromedp.ByQuery), chromedp.Submit("#token", chromedp.ByQuery),
		chromedp.WaitVisible(`input[name="amount"]`, chromedp.ByQuery))
	inner = append(inner, links(`main a[href]`)...)
	if len(inner) < 4 {
		t.Fatalf("the console and counter link only %v", inner)
	}
	for _, h := range inner {
		visit(h)
	}
}

// TestBrowserCounterResult shows the clerk's result in Chromium: pushed
// live, one word and colour, labelled claims, the agency's name; then a
// revoked credential's plain reason and next step in both languages.
func TestBrowserCounterResult(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	b := newBrowser(t, s.c.URL)
	u := s.c.URL
	w := s.c.Citizen(t, nil)
	b.run(emulation.SetDeviceMetricsOverride(1024, 800, 1, false))
	b.run(chromedp.Navigate(u+"/counter/"), chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.SendKeys("#token", s.c.CounterTokens["identity-basic"], chromedp.ByQuery), chromedp.Submit("#token", chromedp.ByQuery),
		chromedp.WaitVisible(`form[action="/counter/sessions"] button`, chromedp.ByQuery))
	check := func() {
		t.Helper()
		b.run(chromedp.Navigate(u+"/counter/"), chromedp.WaitVisible(`form[action="/counter/sessions"] button`, chromedp.ByQuery),
			chromedp.Click(`form[action="/counter/sessions"] button`, chromedp.ByQuery), chromedp.WaitVisible(`img.qr`, chromedp.ByQuery))
		link := b.attr(`#ask a[href^="openid4vp://"]`, "href")
		_ = tongtest.Answer(t, w, link)
		b.waitText(`#outcome`, "erified")
	}
	check()
	got := b.waitText(`#outcome .verdict`, "Verified")
	if !strings.Contains(got, "核验通过") {
		t.Errorf("verdict %q lacks the Chinese", got)
	}
	var colour string
	b.run(chromedp.Evaluate(`getComputedStyle(document.querySelector('#outcome .verdict')).backgroundColor + '|' + document.querySelector('#outcome .verdict').className`, &colour))
	if !strings.Contains(colour, "ok") {
		t.Errorf("verdict colour/class %q", colour)
	}
	okColour := colour
	clerk := b.text(`#outcome section.credential`)
	for _, want := range []string{"Citizen identity", "Beijing Municipal Public Security Bureau", "Age 18 or over", "已满18岁", "yes"} {
		if !strings.Contains(clerk, want) {
			t.Errorf("the result lacks %q: %q", want, clerk)
		}
	}
	if strings.Contains(clerk, "map[") || strings.Contains(clerk, "did:tong") || strings.Contains(clerk, "urn:tong") {
		t.Errorf("the clerk sees a developer's dump: %q", clerk)
	}
	b.shot("counter result verified")

	cs, _ := s.c.Issuer.Credentials(ctx, "psb", 100)
	for _, c := range cs {
		_, _ = s.c.Issuer.SetStatus(ctx, "psb", "test", c.ID, issuer.StatusRevoked)
	}
	check()
	b.waitText(`#outcome .verdict`, "Not verified")
	problem := b.text(`#outcome .problem`)
	for _, want := range []string{"The agency has revoked this credential.", "签发机关已撤销该凭证。", "Do not accept it.", "credential_revoked"} {
		if !strings.Contains(problem, want) {
			t.Errorf("the failure lacks %q: %q", want, problem)
		}
	}
	b.run(chromedp.Evaluate(`getComputedStyle(document.querySelector('#outcome .verdict')).backgroundColor + '|' + document.querySelector('#outcome .verdict').className`, &colour))
	if !strings.Contains(colour, "bad") || strings.Split(colour, "|")[0] == strings.Split(okColour, "|")[0] {
		t.Errorf("the failed verdict's colour %q is the accepted one's %q", colour, okColour)
	}
	b.shot("counter result revoked")
}
