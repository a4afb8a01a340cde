package main

import (
	"context"
	"encoding/json"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/tongid/tong/internal/browsertest"
)

// demoShots drives `tong serve --demo` (its realistic agencies, counters,
// officials and topics, not test fixtures) in headless Chromium, at a
// phone's size (390×844) for the citizen's pages and a desktop's for the
// staff's, checks that each page fits its screen, and saves a screenshot
// of each step. `make screenshots` sets TONG_SCREENSHOTS to docs/images,
// where docs/user-guide.md finds them.
type demoShots struct {
	t   *testing.T
	ctx context.Context
	dir string
}

func newDemoShots(t *testing.T) *demoShots {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browsertest.Chromium(t)), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.NoFirstRun, chromedp.WindowSize(1280, 860),
		chromedp.Flag("lang", "en-US"),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	t.Cleanup(func() { _ = chromedp.Cancel(ctx) })
	ctx, cancel3 := context.WithTimeout(ctx, 6*time.Minute)
	t.Cleanup(cancel3)
	if err := chromedp.Run(ctx); err != nil { // starts the browser under the walk's context
		t.Fatal(err)
	}
	return &demoShots{t: t, ctx: ctx, dir: t.ArtifactDir()}
}

func (d *demoShots) run(actions ...chromedp.Action) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, 90*time.Second) // a step, not the walk
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		d.t.Fatal(err)
	}
}

// phone and desktop set the screen.
func (d *demoShots) phone() {
	d.run(emulation.SetDeviceMetricsOverride(390, 844, 2, true), emulation.SetTouchEmulationEnabled(true))
}
func (d *demoShots) desktop() {
	d.run(emulation.SetDeviceMetricsOverride(1280, 860, 1, false), emulation.SetTouchEmulationEnabled(false))
}

func (d *demoShots) wait(sel string) {
	d.t.Helper()
	d.run(chromedp.WaitVisible(sel, chromedp.ByQuery))
}

func (d *demoShots) attr(sel, name string) string {
	d.t.Helper()
	var v string
	var ok bool
	d.run(chromedp.AttributeValue(sel, name, &v, &ok, chromedp.ByQuery))
	if !ok {
		d.t.Fatalf("%s has no %s", sel, name)
	}
	return html.UnescapeString(v)
}

func (d *demoShots) text(sel string) string {
	d.t.Helper()
	var v string
	d.run(chromedp.Text(sel, &v, chromedp.ByQuery))
	return v
}

// overflowJS lists what makes the page wider than its screen: the
// document's scrollWidth, and any element reaching past the right edge
// outside a box that scrolls or clips.
const overflowJS = `(() => {
  const W = window.innerWidth, bad = [];
  if (document.documentElement.scrollWidth > W) bad.push("document scrollWidth " + document.documentElement.scrollWidth + " > " + W);
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (typeof el.className === "string" && el.className ? "." + el.className.trim().split(/\s+/).join(".") : "");
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > W + 1) {
      let p = el.parentElement, clipped = false;
      for (; p && p !== document.body; p = p.parentElement) { if (getComputedStyle(p).overflowX !== "visible") { clipped = true; break; } }
      if (!clipped) bad.push(name(el) + " reaches " + Math.round(r.right) + " px");
    }
  }
  return bad.slice(0, 10);
})()`

// shot checks the page fits and shows no placeholder junk, then saves it.
func (d *demoShots) shot(name string) {
	d.t.Helper()
	var bad []string
	var body string
	d.run(chromedp.Evaluate(overflowJS, &bad), chromedp.Evaluate(`document.body.innerText`, &body))
	if len(bad) > 0 {
		d.t.Errorf("%s does not fit its screen: %q", name, bad)
	}
	for _, junk := range []string{"map[", "undefined", "[object ", "NaN", "<nil>", "%!"} {
		if strings.Contains(body, junk) {
			d.t.Errorf("%s shows %q", name, junk)
		}
	}
	// The whole page, unless it is very long (a week of slots): then
	// what the screen shows first.
	var png []byte
	var long bool
	d.run(chromedp.Evaluate(`document.documentElement.scrollHeight > 2.5 * innerHeight`, &long))
	if long {
		d.run(chromedp.CaptureScreenshot(&png))
	} else {
		d.run(chromedp.FullScreenshot(&png, 100))
	}
	file := strings.ReplaceAll(name, " ", "-") + ".png"
	if err := os.WriteFile(filepath.Join(d.dir, file), png, 0o644); err != nil {
		d.t.Fatal(err)
	}
	if dir := os.Getenv("TONG_SCREENSHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, file), png, 0o644); err != nil {
			d.t.Fatal(err)
		}
	}
}

// TestDemoScreenshots walks every role's journey on the demo: agency
// staff issue and find a credential, the citizen receives it (the CLI
// wallet stands in for the phone here; TestWalletAppJourney in web shows
// the phone wallet), books and checks in with an official, pays, asks a
// question, the clerk verifies at the counter, staff answer the inquiry,
// and an auditor checks the registry's proofs.
func TestDemoScreenshots(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo in Chromium")
	}
	d := newDemoShots(t)
	data := t.TempDir()
	base, _ := serveForTest(t, map[string]string{"TONG_ADDR": "127.0.0.1:0", "TONG_DATA": data}, "--demo")
	raw, err := os.ReadFile(filepath.Join(data, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var demo demoFile
	if err := json.Unmarshal(raw, &demo); err != nil {
		t.Fatal(err)
	}
	counter := func(purpose string) demoCounter {
		for _, c := range demo.Counters {
			for _, p := range c.Purposes {
				if p == purpose && c.Profile == "" {
					return c
				}
			}
		}
		t.Fatalf("the demo has no counter for %s: %+v", purpose, demo.Counters)
		return demoCounter{}
	}
	psb := demo.Agencies[0]
	wenv := map[string]string{"TONG_WALLET": filepath.Join(t.TempDir(), "me.db"), "TONG_WALLET_PASSPHRASE": "pw", "TONG_REGISTRY": base}
	if code, _, errOut := runTong(t, wenv, "wallet", "init"); code != 0 {
		t.Fatalf("wallet init: %s", errOut)
	}
	present := func(sel string) {
		t.Helper()
		link := d.attr(sel, "href")
		if code, out, errOut := runTong(t, wenv, "wallet", "present", link, "--yes"); code != 0 {
			t.Fatalf("wallet present %s: %d %s %s", link, code, out, errOut)
		}
	}

	// Home.
	d.desktop()
	d.run(chromedp.Navigate(base+"/"), chromedp.WaitVisible(`ul.roles`, chromedp.ByQuery))
	d.shot("home")
	d.phone()
	d.run(chromedp.Reload(), chromedp.WaitVisible(`ul.roles`, chromedp.ByQuery))
	d.shot("home-phone")

	// Agency staff: sign in, issue a citizen identity with the type's
	// example claims, the offer's QR code and PIN.
	d.desktop()
	d.run(chromedp.Navigate(base+"/agency/"), chromedp.WaitVisible("#token", chromedp.ByQuery))
	d.shot("agency sign-in")
	d.run(chromedp.SendKeys("#token", psb.Token, chromedp.ByQuery), chromedp.Submit("#token", chromedp.ByQuery),
		chromedp.WaitVisible(`a[href="/agency/issue/citizen-identity"]`, chromedp.ByQuery))
	d.shot("agency console")
	ex := psb.Types[0].ExampleClaims
	d.run(chromedp.Navigate(base+"/agency/issue/citizen-identity"), chromedp.WaitVisible(`#f-family_name`, chromedp.ByQuery))
	for id, v := range map[string]string{"family_name": ex["family_name"].(string), "given_name": ex["given_name"].(string),
		"nationalities": "CN", "address.locality": "北京市", "address.district": "东城区", "personal_administrative_number": ex["personal_administrative_number"].(string)} {
		d.run(chromedp.SendKeys(`[id="f-`+id+`"]`, v, chromedp.ByQuery))
	}
	d.run(chromedp.SetValue(`#f-birthdate`, ex["birthdate"].(string), chromedp.ByQuery), chromedp.Click(`input[name="age_equal_or_over.18"]`, chromedp.ByQuery))
	d.shot("agency issue form")
	d.run(chromedp.Submit(`#f-family_name`, chromedp.ByQuery), chromedp.WaitVisible(`img.qr`, chromedp.ByQuery),
		chromedp.Click(`.pin summary`, chromedp.ByQuery), chromedp.WaitVisible(`.pinvalue`, chromedp.ByQuery))
	d.shot("agency offer with PIN")
	offer, pin := d.attr(`a[href^="openid-credential-offer://"]`, "href"), strings.TrimSpace(d.text(`.pinvalue`))
	if code, out, errOut := runTong(t, wenv, "wallet", "receive", offer, "--tx-code", pin); code != 0 {
		t.Fatalf("receive the offer on the page: %d %s %s", code, out, errOut)
	}
	d.run(chromedp.Navigate(base+"/agency/credentials"), chromedp.WaitVisible(`table`, chromedp.ByQuery))
	d.shot("agency credentials")

	// A residence from the housing commission, through its API.
	housing := demo.Agencies[1]
	claims := filepath.Join(t.TempDir(), "residence.json")
	b, _ := json.Marshal(housing.Types[0].ExampleClaims)
	_ = os.WriteFile(claims, b, 0o600)
	code, out, errOut := runTong(t, map[string]string{"TONG_SERVER": base, "TONG_TOKEN": housing.Token}, "issuer", "offer", "--type", housing.Types[0].ID, "--claims", claims, "--json")
	var res map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("residence offer: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := runTong(t, wenv, "wallet", "receive", res["offer_uri"], "--tx-code", res["tx_code"]); code != 0 {
		t.Fatalf("receive the residence: %d %s %s", code, out, errOut)
	}

	// The citizen, on a phone: meetings, booking, check-in, payment.
	d.phone()
	d.run(chromedp.Navigate(base+"/meetings/"), chromedp.WaitVisible(`form[action^="/meetings/book/"] button`, chromedp.ByQuery))
	d.shot("meetings")
	d.run(chromedp.Click(`form[action^="/meetings/book/"] button`, chromedp.ByQuery), chromedp.WaitVisible(`img.qr`, chromedp.ByQuery))
	d.shot("meeting booking QR")
	present(`a[href^="openid4vp://"]`)
	d.wait(`#outcome .verdict.ok`)
	d.shot("meeting booked")
	number := strings.TrimSpace(d.text(`#outcome .pinvalue`))
	d.run(chromedp.Navigate(base+"/meetings/checkin"), chromedp.WaitVisible(`#number`, chromedp.ByQuery),
		chromedp.SendKeys(`#number`, number, chromedp.ByQuery), chromedp.Submit(`#number`, chromedp.ByQuery),
		chromedp.WaitVisible(`img.qr`, chromedp.ByQuery))
	present(`a[href^="openid4vp://"]`)
	d.wait(`#outcome .verdict`)
	d.shot("meeting checked in")

	d.run(chromedp.Navigate(base+"/payments/"), chromedp.WaitVisible(`form[action^="/payments/pay/"] button`, chromedp.ByQuery))
	d.shot("payments")
	d.run(chromedp.Click(`form[action^="/payments/pay/"] button`, chromedp.ByQuery), chromedp.WaitVisible(`img.qr`, chromedp.ByQuery))
	d.shot("payment QR")
	present(`a[href^="openid4vp://"]`)
	d.run(chromedp.WaitVisible(`#outcome .verdict.ok`, chromedp.ByQuery), chromedp.Click(`#outcome a`, chromedp.ByQuery),
		chromedp.WaitVisible(`.claims`, chromedp.ByQuery))
	d.shot("payment receipt")

	// Inquiries: the citizen asks an anonymous question.
	d.run(chromedp.Navigate(base+"/inquiries/"), chromedp.WaitVisible(`a[href^="/inquiries/topics/"]`, chromedp.ByQuery))
	d.shot("inquiries")
	d.run(chromedp.Click(`a[href^="/inquiries/topics/"]`, chromedp.ByQuery), chromedp.WaitVisible(`#text`, chromedp.ByQuery),
		chromedp.SetValue(`#text`, "我的居住证明下个月到期，怎么续办？ My residence certificate expires next month: how do I renew it?", chromedp.ByQuery))
	d.shot("inquiry ask")
	d.run(chromedp.Submit(`#text`, chromedp.ByQuery), chromedp.WaitVisible(`#thread`, chromedp.ByQuery))
	var proofQR bool
	d.run(chromedp.Evaluate(`!!document.querySelector('#ask-proof a')`, &proofQR))
	if proofQR {
		d.shot("inquiry proof QR")
		present(`#ask-proof a`)
	}
	d.run(chromedp.WaitVisible(`#thread .status`, chromedp.ByQuery))
	d.shot("inquiry sent")
	var thread string
	d.run(chromedp.Location(&thread))

	// The counter clerk verifies a citizen on a desktop screen.
	d.desktop()
	d.run(chromedp.Navigate(base+"/counter/"), chromedp.WaitVisible("#token", chromedp.ByQuery))
	d.shot("counter sign-in")
	d.run(chromedp.SendKeys("#token", counter("identity-basic").Token, chromedp.ByQuery), chromedp.Submit("#token", chromedp.ByQuery),
		chromedp.WaitVisible(`form[action="/counter/sessions"] button`, chromedp.ByQuery))
	d.shot("counter")
	d.run(chromedp.Click(`form[action="/counter/sessions"] button`, chromedp.ByQuery), chromedp.WaitVisible(`img.qr`, chromedp.ByQuery))
	d.shot("counter QR")
	present(`#ask a[href^="openid4vp://"]`)
	d.wait(`#outcome .verdict.ok`)
	if got := d.text(`#outcome`); !strings.Contains(got, "Verified") || strings.Contains(got, "did:tong") {
		t.Errorf("the counter's result shows %q", got)
	}
	d.shot("counter result verified")

	// Agency staff: the inquiry queue, the item, an answer; the official's
	// day (slots the staff publish).
	d.run(network.ClearBrowserCookies(), chromedp.Navigate(base+"/agency/"), chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.SendKeys("#token", housing.Token, chromedp.ByQuery), chromedp.Submit("#token", chromedp.ByQuery),
		chromedp.WaitVisible(`a[href="/agency/inquiries"]`, chromedp.ByQuery))
	d.run(chromedp.Navigate(base+"/agency/inquiries"), chromedp.WaitVisible(`a[href^="/agency/inquiries/INQ-"]`, chromedp.ByQuery))
	d.shot("staff inquiry queue")
	item := d.attr(`a[href^="/agency/inquiries/INQ-"]`, "href")
	d.run(chromedp.Navigate(base+item), chromedp.WaitVisible(`#answer`, chromedp.ByQuery),
		chromedp.SetValue(`#answer-text`, "请带身份证和租房合同到东城区政务服务中心4号窗口续办。Bring your ID card and rental contract to the Dongcheng hall, desk 4.", chromedp.ByQuery),
		chromedp.Submit(`#answer`, chromedp.ByQuery),
		// A DOM query, not a script: the submit navigates, and a script
		// polled meanwhile can lose its execution context.
		chromedp.WaitVisible(`//*[contains(concat(" ", @class, " "), " thread ")][contains(., "desk 4")]`, chromedp.BySearch))
	d.shot("staff inquiry item")
	d.run(chromedp.Navigate(base+"/agency/inquiries/topics"), chromedp.WaitVisible(`#publish`, chromedp.ByQuery))
	d.shot("staff inquiry topics")
	d.run(chromedp.Navigate(base+"/meetings/"), chromedp.WaitVisible(`a[href^="/meetings/official/"]`, chromedp.ByQuery),
		chromedp.Click(`a[href^="/meetings/official/"]`, chromedp.ByQuery), chromedp.WaitVisible(`h1`, chromedp.ByQuery))
	d.shot("official day")

	// The citizen reads the answer on the phone.
	d.phone()
	d.run(chromedp.Navigate(thread), chromedp.WaitVisible(`#thread`, chromedp.ByQuery))
	if got := d.text(`#thread`); !strings.Contains(got, "desk 4") {
		t.Errorf("the citizen's thread shows %q", got)
	}
	d.shot("inquiry answered")

	// Agency staff revoke, after a confirmation; the audit log shows it.
	d.desktop()
	d.run(network.ClearBrowserCookies(), chromedp.Navigate(base+"/agency/"), chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.SendKeys("#token", psb.Token, chromedp.ByQuery), chromedp.Submit("#token", chromedp.ByQuery),
		chromedp.WaitVisible(`a[href="/agency/issue/citizen-identity"]`, chromedp.ByQuery))
	d.run(chromedp.Navigate(base+"/agency/credentials"), chromedp.WaitVisible(`a[href$="/revoke"]`, chromedp.ByQuery),
		chromedp.Click(`a[href$="/revoke"]`, chromedp.ByQuery), chromedp.WaitVisible(`#confirm-revoke`, chromedp.ByQuery))
	d.shot("agency revoke confirmation")
	d.run(chromedp.Submit(`#confirm-revoke`, chromedp.ByQuery), chromedp.WaitVisible(`#find`, chromedp.ByQuery))
	revokedAt := time.Now()
	d.run(chromedp.Navigate(base+"/agency/audit"), chromedp.WaitVisible(`table`, chromedp.ByQuery))
	d.shot("agency audit log")
	// The auditor: the registry explorer checks proofs in the browser.
	d.desktop()
	d.run(chromedp.Navigate(base+"/explorer/"), chromedp.WaitVisible(`main`, chromedp.ByQuery))
	d.shot("registry explorer home")
	d.run(chromedp.Navigate(base+"/explorer/did/"+psb.DID), chromedp.WaitVisible(`body[data-verified="done"]`, chromedp.ByQuery))
	var bad int
	d.run(chromedp.Evaluate(`document.querySelectorAll('.proofcheck.bad').length`, &bad))
	if bad != 0 || !strings.Contains(d.text(`#sigcheck`), "valid") {
		t.Errorf("explorer: %d proofs failed, signature %q", bad, d.text(`#sigcheck`))
	}
	d.shot("registry explorer")
	d.phone()
	d.run(chromedp.Reload(), chromedp.WaitVisible(`body[data-verified="done"]`, chromedp.ByQuery))
	d.shot("registry explorer phone")

	// Counters see the revocation once the status list they cached
	// expires (its ttl: 30 seconds in the demo); then the clerk is told
	// why, and what to do.
	time.Sleep(time.Until(revokedAt.Add(31 * time.Second)))
	d.desktop()
	d.run(chromedp.Navigate(base+"/counter/"), chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.SendKeys("#token", counter("identity-basic").Token, chromedp.ByQuery), chromedp.Submit("#token", chromedp.ByQuery),
		chromedp.WaitVisible(`form[action="/counter/sessions"] button`, chromedp.ByQuery),
		chromedp.Click(`form[action="/counter/sessions"] button`, chromedp.ByQuery), chromedp.WaitVisible(`img.qr`, chromedp.ByQuery))
	// The wallet presents (it has not refreshed yet); the counter refuses.
	if _, _, errOut := runTong(t, wenv, "wallet", "present", d.attr(`#ask a[href^="openid4vp://"]`, "href"), "--yes"); !strings.Contains(errOut, "credential_revoked") {
		t.Errorf("the wallet was not told the credential is revoked: %s", errOut)
	}
	d.wait(`#outcome .verdict.bad`)
	if got := d.text(`#outcome .problem`); !strings.Contains(got, "revoked") || !strings.Contains(got, "撤销") {
		t.Errorf("the counter explains the failure as %q", got)
	}
	d.shot("counter result revoked")
	// The wallet's list says so too.
	if code, out, _ := runTong(t, wenv, "wallet", "list"); code != 0 || !strings.Contains(out, "REVOKED") {
		t.Errorf("tong wallet list after revocation: %q", out)
	}
}
