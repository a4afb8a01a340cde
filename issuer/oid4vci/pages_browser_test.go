package oid4vci

import (
	"bytes"
	"context"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/tongid/tong/internal/browsertest"
	"github.com/tongid/tong/internal/qr"
)

// TestAuthorizationPagesFitAPhone opens the three pages a citizen sees
// in the authorization code flow (waiting for the wallet, presented, and
// refused: session_mismatch) in Chromium at 390×844, with a long agency
// name, and checks that nothing reaches past the screen's edge and that
// each page says its part in Chinese too.
func TestAuthorizationPagesFitAPhone(t *testing.T) {
	t.Parallel()
	png, err := qr.PNG("openid4vp://?client_id=decentralized_identifier%3Adid%3Atong%3Az6Mk&request_uri=https%3A%2F%2Ftong.example%2Fverifier%2Frequests%2Fses_0123456789", 320)
	if err != nil {
		t.Fatal(err)
	}
	agency := "Beijing Municipal Commission of Housing and Urban-Rural Development"
	pages := map[string]struct {
		tmpl *template.Template
		data any
		zh   string
	}{
		"/waiting": {authzTmpl, map[string]any{"Agency": agency, "Status": "/waiting",
			"QR": template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), "Presentation": template.URL("openid4vp://?request_uri=x")}, "请用钱包"},
		"/presented": {authzPresentedTmpl, map[string]any{"Agency": agency}, "您的钱包已出示凭证"},
		"/refused": {authzErrTmpl, map[string]string{"Code": "session_mismatch",
			"Description": "this browser did not start the sign-in, or the wallet's return link is wrong; start again from your wallet"}, "请回到钱包重新开始"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		var b bytes.Buffer
		if err := p.tmpl.Execute(&b, p.data); err != nil {
			t.Errorf("%s: %v", r.URL.Path, err)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(b.Bytes())
	}))
	defer srv.Close()
	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(browsertest.Chromium(t)), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.UserDataDir(browsertest.ProfileDir(t)))
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := chromedp.Run(ctx, emulation.SetDeviceMetricsOverride(390, 844, 3, true)); err != nil {
		t.Fatal(err)
	}
	for path, p := range pages {
		var bad []string
		var text string
		if err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+path), chromedp.WaitReady("main", chromedp.ByQuery),
			chromedp.Evaluate(browsertest.OverflowJS, &bad), chromedp.Text("main", &text, chromedp.ByQuery)); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(bad) > 0 {
			t.Errorf("%s is wider than a 390 px phone: %v", path, bad)
		}
		if !strings.Contains(text, p.zh) {
			t.Errorf("%s does not say %q: %s", path, p.zh, text)
		}
	}
}
