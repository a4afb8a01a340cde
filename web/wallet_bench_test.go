package web_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/web/walletapp"
)

// BenchmarkWalletAppOpen50 is the time from opening the installed wallet
// (service worker cache warm, engine compiled anew) to the unlocked list
// of 50 credentials, in headless Chromium at phone size. It reports the
// engine's start (navigation to tongWallet ready), the unlock and list
// (Argon2id, unsealing, rendering), and the first load's size.
func BenchmarkWalletAppOpen50(b *testing.B) {
	engine := buildEngine(b)
	app, err := walletapp.New(walletapp.Config{Engine: os.DirFS(engine)})
	if err != nil {
		b.Fatal(err)
	}
	size := app.FirstLoad()
	s := newSiteWith(b, siteOptions{Wallet: app})
	p := newPhone(b, s.c.URL)
	const pin = "135790"
	p.run(chromedp.Navigate(s.c.URL + "/wallet/"))
	p.typeIn("#secret", pin)
	p.typeIn("#secret2", pin)
	p.click(`#create button[type=submit]`)
	p.wait("#creds")
	types, _ := issuer.DemoTypes()
	for i := range 50 {
		o, err := s.c.Issuer.CreateOffer(context.Background(), "housing", "bench", issuer.OfferRequest{Type: "beijing-residence", Claims: types["beijing-residence"].ExampleClaims})
		if err != nil {
			b.Fatal(err)
		}
		var ids []string
		p.eval(`tongWallet.receive({uri: `+strconv.Quote(o.OfferURI)+`, tx_code: `+strconv.Quote(o.TxCode)+`}).then(r => r.ids)`, &ids)
		if len(ids) == 0 {
			b.Fatalf("receive %d: no ids", i)
		}
	}
	var ready, unlock, total float64
	b.ResetTimer()
	for b.Loop() {
		p.run(chromedp.Navigate(s.c.URL + "/wallet/"))
		p.typeIn("#unlock-secret", pin)
		p.click(`#unlock button[type=submit]`)
		p.run(chromedp.WaitVisible(`#creds li:nth-child(50) .cred`, chromedp.ByQuery))
		var m map[string]float64
		p.eval(`(() => { const g = n => performance.getEntriesByName(n).pop().startTime; return {ready: g("tong:engine-ready"), unlock: g("tong:unlock-start"), list: g("tong:list-shown")}; })()`, &m)
		ready += m["ready"]
		unlock += m["list"] - m["unlock"]
		total += m["ready"] + m["list"] - m["unlock"]
	}
	n := float64(b.N)
	b.ReportMetric(ready/n, "ms-engine-ready")
	b.ReportMetric(unlock/n, "ms-unlock-to-list")
	b.ReportMetric(total/n, "ms-open-to-list")
	b.ReportMetric(float64(size.Gzip)/1e6, "MB-first-load-gzip")
	b.ReportMetric(float64(size.WASMGzip)/1e6, "MB-wasm-gzip")
	b.ReportMetric(float64(size.WASM)/1e6, "MB-wasm-raw")
}
