package web_test

import (
	"context"
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tongid/tong/internal/browsertest"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/tongtest"
)

type browser struct {
	t    testing.TB
	ctx  context.Context
	base string
	dir  string
	n    int
	// guide, when set, names the screenshots that make screenshots copies
	// into the user guide (all of them when nil).
	guide map[string]bool
}

func newBrowser(t *testing.T, base string) *browser {
	path := browsertest.Chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.NoFirstRun, chromedp.WindowSize(360, 800),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel3)
	return &browser{t: t, ctx: ctx, base: base, dir: t.ArtifactDir()}
}

func (b *browser) run(actions ...chromedp.Action) {
	b.t.Helper()
	if err := chromedp.Run(b.ctx, actions...); err != nil {
		b.t.Fatal(err)
	}
}

// shot saves a full-page screenshot named after the step.
func (b *browser) shot(name string) {
	b.t.Helper()
	var png []byte
	b.run(chromedp.FullScreenshot(&png, 100))
	b.n++
	p := filepath.Join(b.dir, strings.ReplaceAll(name, " ", "-")+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", p)
	// make screenshots refreshes the user guide's pictures.
	if dir := os.Getenv("TONG_SCREENSHOTS"); dir != "" && (b.guide == nil || b.guide[name]) {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	var v string
	var ok bool
	b.run(chromedp.AttributeValue(sel, name, &v, &ok, chromedp.ByQuery))
	if !ok {
		b.t.Fatalf("%s has no %s", sel, name)
	}
	return html.UnescapeString(v)
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	var v string
	b.run(chromedp.Text(sel, &v, chromedp.ByQuery))
	return v
}

// TestBrowserWalkthrough drives every page in headless Chromium: issue,
// the wallet receives, book a meeting, check in, pay a fee, revoke, and
// the next check-in fails with a clear message; then the registry
// explorer verifies proofs in the browser.
func TestBrowserWalkthrough(t *testing.T) {
	s := newSite(t)
	b := newBrowser(t, s.c.URL)
	u := s.c.URL
	ctx := context.Background()

	// Agency console: sign in, issue a citizen identity.
	b.run(chromedp.Navigate(u+"/agency/"), chromedp.WaitVisible("#token", chromedp.ByQuery))
	b.shot("agency sign-in")
	b.run(chromedp.SendKeys("#token", s.c.IssuerToken, chromedp.ByQuery), chromedp.Submit("#token", chromedp.ByQuery),
		chromedp.WaitVisible(`a[href="/agency/issue/citizen-identity"]`, chromedp.ByQuery))
	b.shot("agency console")
	types, _ := issuer.DemoTypes()
	ex := types["citizen-identity"].ExampleClaims
	b.run(chromedp.Click(`a[href="/agency/issue/citizen-identity"]`, chromedp.ByQuery), chromedp.WaitVisible(`#f-family_name`, chromedp.ByQuery))
	for id, v := range map[string]string{"family_name": ex["family_name"].(string), "given_name": ex["given_name"].(string),
		"nationalities": "CN", "address.locality": "北京市", "address.district": "东城区", "personal_administrative_number": ex["personal_administrative_number"].(string)} {
		b.run(chromedp.SendKeys(`[id="f-`+id+`"]`, v, chromedp.ByQuery))
	}
	b.run(chromedp.SetValue(`#f-birthdate`, "1990-05-17", chromedp.ByQuery), chromedp.Click(`input[name="age_equal_or_over.18"]`, chromedp.ByQuery))
	b.shot("agency issue form")
	b.run(chromedp.Submit(`#f-family_name`, chromedp.ByQuery), chromedp.WaitVisible(`img.qr`, chromedp.ByQuery))
	b.run(chromedp.Click(`.pin summary`, chromedp.ByQuery), chromedp.WaitVisible(`.pinvalue`, chromedp.ByQuery))
	b.shot("agency offer with PIN")
	offerURI := b.attr(`a[href^="openid-credential-offer://"]`, "href")
	pin := strings.TrimSpace(b.text(`.pinvalue`))

	// The citizen's wallet (the Go library) receives it, and residence.
	w := s.c.Citizen(t, nil) // identity + residence from the agencies' APIs
	if _, err := w.Receive(ctx, offerURI, pin); err != nil {
		t.Fatalf("the wallet could not receive the offer shown on the page: %v", err)
	}

	// Book a meeting: the page shows a QR code, the wallet answers, the
	// page updates live with the booking number.
	book := func(i int) string {
		b.run(chromedp.Navigate(u+"/meetings/"), chromedp.WaitVisible(`form[action^="/meetings/book/"] button`, chromedp.ByQuery))
		if i == 0 {
			b.shot("meetings")
		}
		b.run(chromedp.Click(`form[action^="/meetings/book/"] button`, chromedp.ByQuery), chromedp.WaitVisible(`img.qr`, chromedp.ByQuery))
		if i == 0 {
			b.shot("meeting booking QR")
		}
		if err := tongtest.Answer(t, w, b.attr(`a[href^="openid4vp://"]`, "href")); err != nil {
			t.Fatal(err)
		}
		b.run(chromedp.WaitVisible(`#outcome .verdict.ok`, chromedp.ByQuery))
		if i == 0 {
			b.shot("meeting booked")
		}
		return strings.TrimSpace(b.text(`#outcome .pinvalue`))
	}
	first, second := book(0), book(1)
	if !strings.HasPrefix(first, "BK-") || first == second {
		t.Fatalf("booking numbers %q %q", first, second)
	}

	checkIn := func(number string) {
		b.run(chromedp.Navigate(u+"/meetings/checkin"), chromedp.WaitVisible(`#number`, chromedp.ByQuery),
			chromedp.SendKeys(`#number`, number, chromedp.ByQuery), chromedp.Submit(`#number`, chromedp.ByQuery),
			chromedp.WaitVisible(`img.qr`, chromedp.ByQuery))
		_ = tongtest.Answer(t, w, b.attr(`a[href^="openid4vp://"]`, "href"))
		b.run(chromedp.WaitVisible(`#outcome .verdict`, chromedp.ByQuery))
	}
	checkIn(first)
	if got := b.text(`#outcome .verdict`); !strings.Contains(got, "Checked in") {
		t.Fatalf("check-in: %q", got)
	}
	b.shot("meeting checked in")

	// Pay a fee: the wallet signs the amount; the page shows the receipt.
	b.run(chromedp.Navigate(u+"/payments/"), chromedp.WaitVisible(`form[action^="/payments/pay/"] button`, chromedp.ByQuery))
	b.shot("payments")
	b.run(chromedp.Click(`form[action^="/payments/pay/"] button`, chromedp.ByQuery), chromedp.WaitVisible(`img.qr`, chromedp.ByQuery))
	b.shot("payment QR")
	if err := tongtest.Answer(t, w, b.attr(`a[href^="openid4vp://"]`, "href")); err != nil {
		t.Fatal(err)
	}
	b.run(chromedp.WaitVisible(`#outcome .verdict.ok`, chromedp.ByQuery), chromedp.Click(`#outcome a`, chromedp.ByQuery),
		chromedp.WaitVisible(`.claims`, chromedp.ByQuery))
	b.shot("payment receipt")
	if receipt := b.text(`.claims`); strings.Contains(receipt, "110101") || !strings.Contains(receipt, "P-") {
		t.Fatalf("receipt shows %q", receipt)
	}

	// Revoke the identity issued in the browser; the next check-in fails.
	b.run(chromedp.Navigate(u+"/agency/credentials"), chromedp.WaitVisible(`table`, chromedp.ByQuery))
	b.shot("agency credentials")
	for range 8 { // revoke every live credential: the wallet may present any
		var n int
		b.run(chromedp.Navigate(u+"/agency/credentials"), chromedp.WaitVisible(`table`, chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelectorAll('a[href$="/revoke"]').length`, &n))
		if n == 0 {
			break
		}
		// Revoking asks first; the confirmation page's form revokes.
		b.run(chromedp.Click(`a[href$="/revoke"]`, chromedp.ByQuery), chromedp.WaitVisible(`#confirm-revoke`, chromedp.ByQuery))
		b.run(chromedp.Submit(`#confirm-revoke`, chromedp.ByQuery), chromedp.WaitVisible(`#find`, chromedp.ByQuery))
	}
	checkIn(second)
	got := b.text(`#outcome`)
	if !strings.Contains(got, "Check-in failed") || !strings.Contains(got, "credential_revoked") {
		t.Fatalf("check-in after revocation shows %q", got)
	}
	b.shot("check-in after revocation")

	// Counter screen.
	b.run(chromedp.Navigate(u+"/counter/"), chromedp.WaitVisible("#token", chromedp.ByQuery),
		chromedp.SendKeys("#token", s.c.CounterTokens["pay-fee"], chromedp.ByQuery), chromedp.Submit("#token", chromedp.ByQuery),
		chromedp.WaitVisible(`input[name="amount"]`, chromedp.ByQuery))
	b.shot("counter")

	// Registry explorer: proofs and the checkpoint signature verified in the browser.
	b.run(chromedp.Navigate(u+"/explorer/did/"+s.c.PSB.DID), chromedp.WaitVisible(`body[data-verified="done"]`, chromedp.ByQuery))
	var bad, good int
	b.run(chromedp.Evaluate(`document.querySelectorAll('.proofcheck.bad').length`, &bad), chromedp.Evaluate(`document.querySelectorAll('.proofcheck.ok').length`, &good))
	if bad != 0 || good == 0 || !strings.Contains(b.text(`#sigcheck`), "valid") {
		t.Fatalf("explorer: %d proofs ok, %d failed, signature %q", good, bad, b.text(`#sigcheck`))
	}
	b.shot("registry explorer")
}
