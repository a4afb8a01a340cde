package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"html"
	"image"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/browsertest"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/verifier"
	"github.com/tongid/tong/web/walletapp"
)

// phoneUA is Chrome on an Android phone: the wallet's main browser.
const phoneUA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"

// buildEngine compiles the wallet library to WebAssembly (wallet/wasm)
// into a temporary directory, with Go's loader beside it, as `make
// wallet-wasm` does.
func buildEngine(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	gocmd := filepath.Join(goroot(t), "bin", "go")
	cmd := exec.Command(gocmd, "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, walletapp.EngineWASM), "./wallet/wasm")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the wallet engine: %v\n%s", err, out)
	}
	// Compressed beside it, as make wallet-wasm does: compressing 13 MB
	// under the race detector would take a minute and a half.
	if gz, err := exec.LookPath("gzip"); err == nil {
		if out, err := exec.Command(gz, "-9", "-n", "-k", filepath.Join(dir, walletapp.EngineWASM)).CombinedOutput(); err != nil {
			t.Fatalf("gzip: %v %s", err, out)
		}
	}
	loader, err := os.ReadFile(filepath.Join(goroot(t), "lib", "wasm", walletapp.EngineLoader))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, walletapp.EngineLoader), loader, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func goroot(t testing.TB) string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// phoneGuideShots are the screenshots docs/user-guide.md shows.
var phoneGuideShots = map[string]bool{"phone create": true, "phone offer": true, "phone credentials": true, "phone credential details": true,
	"phone consent": true, "phone payment consent": true, "phone unaccredited verifier refused": true, "phone revoked credential": true, "phone history": true}

// phone is a headless Chromium that looks like a phone: 390×844, touch,
// a mobile user agent, and a camera that shows whatever QR code the test
// last put in front of it.
type phone struct {
	*browser
	cam string
}

func newPhone(t testing.TB, base string) *phone {
	path := browsertest.Chromium(t)
	// Not t.TempDir: Chromium may still be writing its profile when the
	// test's cleanups run, so the directory is removed with retries, after
	// the browser is stopped (cleanups run last-registered first).
	dir, err := os.MkdirTemp("", "tong-phone-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	cam := filepath.Join(dir, "camera.y4m")
	var blank bytes.Buffer
	white := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range white.Pix {
		white.Pix[i] = 0xff
	}
	_ = png.Encode(&blank, white)
	if err := writeY4M(cam, blank.Bytes()); err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.NoFirstRun, chromedp.WindowSize(390, 844),
		chromedp.UserAgent(phoneUA), chromedp.UserDataDir(browsertest.ProfileDir(t)),
		chromedp.Flag("use-fake-device-for-media-stream", true), chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-video-capture", cam),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	t.Cleanup(func() { _ = chromedp.Cancel(ctx) }) // closes the browser and waits for it
	ctx, cancel3 := context.WithTimeout(ctx, 6*time.Minute)
	t.Cleanup(cancel3)
	p := &phone{browser: &browser{t: t, ctx: ctx, base: base, dir: t.ArtifactDir(), guide: phoneGuideShots}, cam: cam}
	p.run(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(1), chromedp.EmulateMobile, chromedp.EmulateTouch),
		emulation.SetUserAgentOverride(phoneUA).WithPlatform("Android"))
	return p
}

// show puts a QR code (a PNG data: URL from a page) before the camera.
func (p *phone) show(dataURL string) {
	p.t.Helper()
	b64, ok := strings.CutPrefix(dataURL, "data:image/png;base64,")
	if !ok {
		p.t.Fatalf("not a PNG data URL: %.40q", dataURL)
	}
	pngData, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := writeY4M(p.cam, pngData); err != nil {
		p.t.Fatal(err)
	}
}

func (p *phone) wait(sel string) { p.t.Helper(); p.run(chromedp.WaitVisible(sel, chromedp.ByQuery)) }
func (p *phone) click(sel string) {
	p.t.Helper()
	p.run(chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Click(sel, chromedp.ByQuery))
}
func (p *phone) typeIn(sel, text string) {
	p.t.Helper()
	var ok bool
	p.run(chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Evaluate(`(el => !!el && (el.value = "", true))(document.querySelector(`+strconv.Quote(sel)+`))`, &ok),
		chromedp.SendKeys(sel, text, chromedp.ByQuery))
}
func (p *phone) eval(js string, v any) {
	p.t.Helper()
	p.run(chromedp.Evaluate(js, v, func(e *runtime.EvaluateParams) *runtime.EvaluateParams { return e.WithAwaitPromise(true) }))
}

// fits checks the page is no wider than the screen (scrollWidth, and no
// element past the right edge outside a box that scrolls or clips), and
// that buttons and links meant for fingers are at least 44 px.
const fitsJS = `(() => {
  const W = document.documentElement.clientWidth, bad = [];
  if (document.documentElement.scrollWidth > W) bad.push("document scrollWidth " + document.documentElement.scrollWidth + " > " + W);
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (typeof el.className === "string" && el.className ? "." + el.className.trim().split(/\s+/).join(".") : "");
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > W + 1) {
      let p = el.parentElement, clipped = false;
      for (; p && p !== document.body; p = p.parentElement) { const o = getComputedStyle(p).overflowX; if (o !== "visible") { clipped = true; break; } }
      if (!clipped) bad.push(name(el) + " reaches " + Math.round(r.right) + " px");
    }
  }
  for (const el of document.querySelectorAll("button, a.button, .bar nav a, input:not([type=hidden]):not([type=radio]):not([type=checkbox]):not([type=file]), textarea, select, .choice")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.height < 43.5 || r.width < 43.5) bad.push(name(el) + " is " + Math.round(r.width) + "×" + Math.round(r.height) + " px, under 44");
  }
  return bad.slice(0, 12);
})()`

func (p *phone) fits(where string) {
	p.t.Helper()
	var bad []string
	p.eval(fitsJS, &bad)
	if len(bad) > 0 {
		p.t.Errorf("%s does not fit a 390 px phone: %q", where, bad)
	}
	var text string
	p.eval(`document.body.innerText`, &text)
	for _, junk := range []string{"null", "undefined", "[object ", "NaN"} {
		if strings.Contains(text, junk) {
			p.t.Errorf("%s shows %q: %q", where, junk, text)
		}
	}
}

// step waits for sel, checks the page fits, and saves a screenshot.
func (p *phone) step(sel, name string) {
	p.t.Helper()
	p.wait(sel)
	p.fits(name)
	p.shot("phone " + name)
}

var qrSrcRE = regexp.MustCompile(`<img class="qr" src="(data:image/png;base64,[^"]+)"`)

// TestWalletAppJourney is the citizen's day on a phone, in real Chromium
// running the real wallet engine (WebAssembly) against a whole Tong.
func TestWalletAppJourney(t *testing.T) {
	engine := buildEngine(t)
	app, err := walletapp.New(walletapp.Config{Engine: os.DirFS(engine)})
	if err != nil {
		t.Fatal(err)
	}
	// Status lists live a second, so the wallet sees a revocation at its
	// next refresh (in production: the issuer's ttl, five minutes).
	s := newSiteWith(t, siteOptions{Wallet: app, IssuerConfig: func(c *issuer.Config) { c.StatusTTL = time.Second }})
	ctx := context.Background()
	u := s.c.URL
	p := newPhone(t, u)
	const pin = "135790"

	// 1. Create a wallet with a PIN.
	p.run(chromedp.Navigate(u + "/wallet/"))
	p.step("#create", "create")
	p.typeIn("#secret", pin)
	p.typeIn("#secret2", pin)
	p.click(`#create button[type=submit]`)
	p.step("#creds", "empty wallet")

	// 2. The agency issues an identity; the phone scans the offer's QR
	// code through the camera and the citizen types the PIN.
	s.post(t, "/agency/signin", url.Values{"token": {s.c.IssuerToken}})
	types, _ := issuer.DemoTypes()
	ex := types["citizen-identity"].ExampleClaims
	_, offerPage := s.post(t, "/agency/issue/citizen-identity", url.Values{"family_name": {ex["family_name"].(string)}, "given_name": {ex["given_name"].(string)},
		"birthdate": {ex["birthdate"].(string)}, "age_equal_or_over.18": {"true"}, "nationalities": {"CN"}, "address.locality": {"北京市"},
		"address.district": {"东城区"}, "personal_administrative_number": {ex["personal_administrative_number"].(string)}})
	qrm := qrSrcRE.FindStringSubmatch(offerPage)
	pinm := regexp.MustCompile(`class="pinvalue">(\d{6})<`).FindStringSubmatch(offerPage)
	if qrm == nil || pinm == nil || !strings.Contains(offerPage, `href="/wallet/#offer=openid-credential-offer%3A%2F%2F`) {
		t.Fatalf("the offer page has no QR code, PIN or Open in wallet button:\n%s", offerPage)
	}
	p.show(html.UnescapeString(qrm[1]))
	p.click("#scan")
	p.step("#offer-issuer", "offer")
	var decoder string
	p.eval(`document.body.dataset.decoder`, &decoder)
	t.Logf("QR decoder in headless Chromium: %s", decoder)
	if decoder != "jsQR" && decoder != "BarcodeDetector" {
		t.Errorf("decoder %q", decoder)
	}
	if got := p.text("#offer-issuer"); !strings.Contains(got, "Public Security") {
		t.Errorf("the offer screen names the issuer %q", got)
	}
	p.typeIn("#tx-code", pinm[1])
	p.click("#accept-offer")
	p.step("#received", "received")

	// A residence from the housing commission, by pasting its link.
	res, err := s.c.Issuer.CreateOffer(ctx, "housing", "test", issuer.OfferRequest{Type: "beijing-residence", Claims: types["beijing-residence"].ExampleClaims})
	if err != nil {
		t.Fatal(err)
	}
	p.click("#to-list")
	p.click("#paste")
	p.typeIn("#link", res.OfferURI)
	p.click("#paste-go")
	p.typeIn("#tx-code", res.TxCode)
	p.click("#accept-offer")
	p.wait("#received")

	// 3. Reload: the wallet is locked, its data survived in IndexedDB. A
	// wrong PIN is refused in words, then the right one opens it.
	p.run(chromedp.Reload())
	p.step("#unlock", "unlock")
	p.typeIn("#unlock-secret", "000000")
	p.click(`#unlock button[type=submit]`)
	p.wait(`#unlock [data-code]`)
	if code := p.attr(`#unlock [data-code]`, "data-code"); code != "wrong_passphrase" {
		t.Errorf("a wrong PIN shows code %q", code)
	}
	p.shot("phone wrong PIN")
	p.typeIn("#unlock-secret", pin)
	p.click(`#unlock button[type=submit]`)
	p.step(`.cred[data-status="valid"]`, "credentials")
	var n int
	p.eval(`document.querySelectorAll(".cred").length`, &n)
	if n != 2 {
		t.Fatalf("the wallet shows %d credentials after reload, want 2", n)
	}
	p.click(".cred")
	p.step("#claims", "credential details")
	p.click("#detail-back")

	// 4. Present to a counter by scanning its QR code; the counter's page
	// (another tab, the staff's screen) turns to verified.
	counter := &browser{t: t, base: u, dir: t.ArtifactDir(), guide: phoneGuideShots}
	cctx, closeCounter := chromedp.NewContext(p.ctx)
	counter.ctx = cctx
	counter.run(chromedp.Navigate(u+"/counter/"), chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.SendKeys("#token", s.c.CounterTokens["identity-basic"], chromedp.ByQuery), chromedp.Submit("#token", chromedp.ByQuery),
		chromedp.WaitVisible(`form:has(input[value="identity-basic"]) button`, chromedp.ByQuery),
		chromedp.Click(`form:has(input[value="identity-basic"]) button`, chromedp.ByQuery), chromedp.WaitVisible("img.qr", chromedp.ByQuery))
	p.show(counter.attr("img.qr", "src"))
	p.click("#scan")
	p.step("#consent", "consent")
	if got := p.text("#verifier-name"); !strings.Contains(got, "Dongcheng") {
		t.Errorf("the consent screen names the verifier %q, want the registry's Dongcheng hall", got)
	}
	var shared []string
	p.eval(`[...document.querySelectorAll(".share-list li")].map(li => li.dataset.path)`, &shared)
	if len(shared) == 0 {
		t.Error("the consent screen lists no claims to share")
	}
	t.Logf("identity-basic shares %q", shared)
	p.click("#share")
	p.wait("#shared")
	counter.run(chromedp.WaitVisible("#outcome .verdict.ok", chromedp.ByQuery))
	counter.shot("counter verified by the phone")
	closeCounter()

	// 5. Pay a fee on the same device: the button opens the wallet, the
	// consent screen shows the amount and payee, and the citizen comes
	// back to the payment page, which shows the result.
	p.run(chromedp.Navigate(u + "/payments/"))
	p.step(`form[action^="/payments/pay/"] button`, "payments")
	p.click(`form[action^="/payments/pay/"] button`)
	p.step("a.wallet-open", "payment page")
	var payPage string
	p.eval(`location.pathname`, &payPage)
	p.click("a.wallet-open")
	p.step("#unlock", "unlock for payment")
	p.typeIn("#unlock-secret", pin)
	p.click(`#unlock button[type=submit]`)
	p.step("#payment", "payment consent")
	if amount, payee := p.text("#amount"), p.text("#payee"); !strings.Contains(amount, "20.00") || !strings.Contains(payee, "Dongcheng") {
		t.Errorf("the consent screen shows %q to %q, want ¥20.00 to the Dongcheng hall", amount, payee)
	}
	p.click("#share")
	p.step("#outcome .verdict.ok", "paid")
	var where string
	p.eval(`location.pathname`, &where)
	if where != payPage || !strings.HasPrefix(where, "/payments/") {
		t.Errorf("after paying the wallet returned to %q, want the payment page %q", where, payPage)
	}
	p.click("#outcome a")
	p.step(".claims", "receipt")

	// 6. Book a meeting on the same device.
	p.run(chromedp.Navigate(u + "/meetings/"))
	p.step(`form[action^="/meetings/book/"] button`, "meetings")
	p.click(`form[action^="/meetings/book/"] button`)
	p.step("a.wallet-open", "booking page")
	p.click("a.wallet-open")
	p.typeIn("#unlock-secret", pin)
	p.click(`#unlock button[type=submit]`)
	p.step("#consent", "booking consent")
	p.click("#share")
	p.step("#outcome .verdict.ok", "booked")
	if got := p.text("#outcome"); !strings.Contains(got, "BK-") {
		t.Errorf("the booking page shows %q, want a booking number", got)
	}

	// 7. A verifier the registry does not accredit for what it asks is
	// refused, in words.
	key, _ := s.c.Keys.Create("org-rogue", keys.ES256)
	rogueDID := s.c.Register(t, key, "", didregistry.RoleVerifier, "meeting-checkin")
	if err := s.c.Verifier.AddOrg(ctx, verifier.Org{Slug: "rogue", Name: "Rogue Data Ltd", DID: rogueDID, KeyName: "org-rogue", KeyID: rogueDID + "#key-1"}); err != nil {
		t.Fatal(err)
	}
	rc, _, err := s.c.Verifier.AddCounter(ctx, "rogue", "rogue counter", []string{"identity-basic"})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := s.c.Verifier.CreateSession(ctx, rc, verifier.NewRequest{Purpose: "identity-basic"})
	if err != nil {
		t.Fatal(err)
	}
	p.run(chromedp.Navigate(u + "/wallet/#request=" + url.QueryEscape(sess.RequestURI)))
	p.typeIn("#unlock-secret", pin)
	p.click(`#unlock button[type=submit]`)
	p.step(`[data-code]`, "unaccredited verifier refused")
	if code := p.attr(`[data-code]`, "data-code"); code != "verifier_not_accredited" {
		t.Errorf("an unaccredited verifier gives code %q, want verifier_not_accredited", code)
	}
	if msg := p.text(`[data-code]`); !strings.Contains(msg, "did not share") || len(msg) < 60 {
		t.Errorf("the refusal reads %q", msg)
	}

	// 8. The agency revokes the identity; the wallet shows it revoked
	// after its refresh.
	_, body := s.get(t, "/agency/credentials")
	credID := regexp.MustCompile(`/agency/credentials/(cred_[^/]+)/revoke`).FindStringSubmatch(body)
	if credID == nil {
		t.Fatal("no credential to revoke on the agency page")
	}
	if st, _ := s.post(t, "/agency/credentials/"+credID[1]+"/revoke", url.Values{"confirm": {"yes"}}); st != 200 {
		t.Fatalf("revoke: %d", st)
	}
	time.Sleep(1100 * time.Millisecond) // the status list's ttl
	p.click("#back")
	p.click("#settings")
	p.click("#refresh")
	p.wait(`#settings-msg .alert.ok`)
	p.click("#settings-back")
	p.step(`.cred[data-status="revoked"]`, "revoked credential")
	if got := p.text(`.cred[data-status="revoked"] .badge`); !strings.Contains(got, "Revoked") || !strings.Contains(got, "已撤销") {
		t.Errorf("the revoked card's badge reads %q", got)
	}

	// 9. History lists what was shared with whom.
	p.click("#history")
	p.step("#history-list", "history")
	if got := p.text("#history-list"); !strings.Contains(got, "Dongcheng") {
		t.Errorf("history reads %q", got)
	}

	// 10. Back up to a file, delete the whole wallet, restore the file.
	const backupPass = "plum blossom river"
	p.click("#history-back")
	p.click("#settings")
	downloads := t.TempDir()
	p.run(cdpbrowser.SetDownloadBehavior(cdpbrowser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(downloads).WithEventsEnabled(true))
	p.typeIn("#backup-pass", backupPass)
	p.click("#backup")
	p.wait("#backup-file")
	var backupFile string
	for deadline := time.Now().Add(20 * time.Second); backupFile == "" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if m, _ := filepath.Glob(filepath.Join(downloads, "tong-wallet-*.backup")); len(m) == 1 {
			if fi, err := os.Stat(m[0]); err == nil && fi.Size() > 100 {
				backupFile = m[0]
			}
		}
	}
	if backupFile == "" {
		t.Fatal("the backup file was not downloaded")
	}
	p.shot("phone settings")
	p.click("#destroy")
	p.click("#confirm")
	p.step("#create", "wallet deleted")
	p.click("#create ~ button")
	p.run(chromedp.SetUploadFiles("#restore-file", []string{backupFile}, chromedp.ByQuery))
	p.typeIn("#restore-pass", backupPass)
	p.click("#restore")
	p.click("#restore-done")
	p.step(".cred", "restored")
	p.eval(`document.querySelectorAll(".cred").length`, &n)
	if n != 2 {
		t.Fatalf("the restored wallet shows %d credentials, want 2", n)
	}

	// 11. Offline: the server goes away; the app still opens from the
	// service worker's cache and shows the credentials from IndexedDB.
	var sw bool
	p.eval(`navigator.serviceWorker.ready.then(r => !!r.active)`, &sw)
	if !sw {
		t.Fatal("no active service worker")
	}
	s.c.Server.CloseClientConnections()
	s.c.Server.Close()
	p.run(chromedp.Navigate(u + "/wallet/"))
	p.typeIn("#unlock-secret", backupPass)
	p.click(`#unlock button[type=submit]`)
	p.step(".cred", "offline")
	p.eval(`document.querySelectorAll(".cred").length`, &n)
	if n != 2 {
		t.Errorf("offline the wallet shows %d credentials, want 2", n)
	}

	// 12. Delete one credential.
	p.click(".cred")
	p.click("#delete")
	p.click("#confirm")
	p.wait("#creds")
	p.eval(`document.querySelectorAll(".cred").length`, &n)
	if n != 1 {
		t.Errorf("after deleting one, the wallet shows %d credentials, want 1", n)
	}

	// 13. Wrong passphrases: after the free tries, the lockout is said in
	// words and counts down.
	p.click("#lock")
	for i := 0; ; i++ {
		p.typeIn("#unlock-secret", "wrong guess")
		p.click(`#unlock button[type=submit]`)
		p.wait(`#unlock [data-code]`)
		if code := p.attr(`#unlock [data-code]`, "data-code"); code == "locked_out" {
			break
		} else if code != "wrong_passphrase" || i > 6 {
			t.Fatalf("wrong passphrase %d: code %q", i+1, code)
		}
	}
	p.step("#lockout", "locked out")
	if got := p.text("#lockout"); !strings.Contains(got, "Too many wrong tries") || !strings.Contains(got, "seconds") || !strings.Contains(got, "后再试") {
		t.Errorf("the lockout reads %q", got)
	}
	var disabled bool
	p.eval(`document.querySelector("#unlock button[type=submit]").disabled`, &disabled)
	if !disabled {
		t.Error("the Unlock button can be pressed during the lockout")
	}
}
