//go:build !js

package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tongid/tong/internal/browsertest"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
)

// contractJS drives globalThis.tongWallet as the app does. OFFER, PIN and
// REQUEST are replaced by the test.
const contractJS = `(async () => {
  await new Promise((r) => { if (globalThis.tongWallet) r(); else addEventListener("tongwallet:ready", r); });
  const w = globalThis.tongWallet, out = {};
  const err = async (p) => { try { await p; return null; } catch (e) {
    return {is_error: e instanceof Error, code: e.code, message: e.message, message_zh: e.message_zh, retry_after: e.retry_after, tries_left: e.tries_left}; } };
  out.exists_before = await w.exists();
  out.list_locked = await err(w.list());
  await w.create({passphrase: "482916"});
  out.unlocked = await w.isUnlocked();
  out.offer = await w.offer(OFFER);
  out.received = await w.receive({uri: OFFER, tx_code: PIN});
  out.list = await w.list();
  out.get = await w.get(out.received.ids[0]);
  await w.lock();
  out.wrong = await err(w.unlock({passphrase: "000000"}));
  await w.unlock({passphrase: "482916"});
  out.request = await w.request(REQUEST);
  out.present = await w.present({handle: out.request.handle});
  out.gone = await err(w.present({handle: out.request.handle}));
  out.history = await w.history();
  out.refresh = await w.refresh();
  const b = await w.backup({passphrase: "backup"});
  out.backup_is_bytes = b instanceof Uint8Array && b.length > 100;
  await w.destroy();
  out.exists_destroyed = await w.exists();
  await w.restore({data: b, passphrase: "backup"});
  out.restored = (await w.list()).length;
  return JSON.stringify(out);
})()`

// afterReloadJS checks what survived a reload in IndexedDB.
const afterReloadJS = `(async () => {
  await new Promise((r) => { if (globalThis.tongWallet) r(); else addEventListener("tongwallet:ready", r); });
  const w = globalThis.tongWallet;
  const exists = await w.exists(), unlocked = await w.isUnlocked();
  await w.unlock({passphrase: "backup"});
  return JSON.stringify({exists, unlocked, list: await w.list()});
})()`

// TestContractInChromium loads tong-wallet.wasm in headless Chromium on
// the origin of a whole Tong and drives globalThis.tongWallet through the
// README's contract: the Promise API, the Error fields, IndexedDB across
// a reload, the presentation reaching the counter.
func TestContractInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wasm and starts Chromium")
	}
	path := browsertest.Chromium(t)
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "tong-wallet.wasm"), ".")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the wasm: %v\n%s", err, out)
	}
	goroot, _ := exec.Command("go", "env", "GOROOT").Output()
	wasmExec, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Fatal(err)
	}
	c := tongtest.New(t, tongtest.Options{})
	c.Mux.Get("/wallettest/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><meta charset="utf-8"><title>wallet</title><script src="wasm_exec.js"></script><script src="load.js"></script>`))
	})
	c.Mux.Get("/wallettest/load.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write([]byte(`const go = new Go(); WebAssembly.instantiateStreaming(fetch("tong-wallet.wasm"), go.importObject).then((r) => go.run(r.instance));`))
	})
	c.Mux.Get("/wallettest/wasm_exec.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write(wasmExec)
	})
	c.Mux.Get("/wallettest/tong-wallet.wasm", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/wasm")
		http.ServeFile(w, r, filepath.Join(dir, "tong-wallet.wasm"))
	})
	o := offer(t, c, "psb", "citizen-identity")
	s := session(t, c, c.CounterTokens["identity-basic"], verifier.NewRequest{Purpose: "identity-basic"})
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	script := strings.NewReplacer("OFFER", q(o.OfferURI), "PIN", q(o.TxCode), "REQUEST", q(s.RequestURI)).Replace(contractJS)

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.NoFirstRun, chromedp.UserDataDir(browsertest.ProfileDir(t)),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	await := func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }
	var raw string
	if err := chromedp.Run(ctx, chromedp.Navigate(c.URL+"/wallettest/"), chromedp.Evaluate(script, &raw, await)); err != nil {
		t.Fatalf("driving tongWallet: %v", err)
	}
	var got struct {
		ExistsBefore    bool           `json:"exists_before"`
		ListLocked      map[string]any `json:"list_locked"`
		Unlocked        bool
		Offer           jsOffer
		Received        struct{ IDs []string } `json:"received"`
		List            []jsCredential
		Get             jsCredential
		Wrong           map[string]any
		Request         jsRequest
		Present         map[string]any
		Gone            map[string]any
		History         []jsHistory
		Refresh         map[string]int
		BackupIsBytes   bool `json:"backup_is_bytes"`
		ExistsDestroyed bool `json:"exists_destroyed"`
		Restored        int
	}
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	t.Logf("tongWallet in Chromium: %s", raw)
	if got.ExistsBefore || !got.Unlocked || got.ListLocked["code"] != codeLocked || got.ListLocked["is_error"] != true ||
		got.ListLocked["message_zh"] == "" {
		t.Errorf("before create: exists %v, list() rejected with %v", got.ExistsBefore, got.ListLocked)
	}
	if got.Offer.IssuerName == "" || got.Offer.TxCode == nil || got.Offer.TxCode.Length != 6 {
		t.Errorf("offer() = %+v", got.Offer)
	}
	if len(got.Received.IDs) != 1 || len(got.List) != 1 || got.List[0].Status != "valid" || got.List[0].Display.Name != "Citizen identity" ||
		got.Get.ID != got.Received.IDs[0] || got.List[0].ClaimLabels["family_name"] != "Family name" {
		t.Errorf("receive() %+v, list() %+v", got.Received, got.List)
	}
	if got.Wrong["code"] != codeWrongPassphrase || got.Wrong["tries_left"] != float64(4) || got.Wrong["retry_after"] != float64(0) {
		t.Errorf("unlock() with a wrong PIN rejected with %v", got.Wrong)
	}
	if !got.Request.Verifier.Accredited || got.Request.PurposeLabel != "Identity check" || len(got.Request.Credentials) != 1 || got.Gone["code"] != codeUnknownHandle {
		t.Errorf("request() %+v; second present() %v", got.Request, got.Gone)
	}
	if len(got.History) != 1 || !got.BackupIsBytes || got.ExistsDestroyed || got.Restored != 1 {
		t.Errorf("history %d, backup bytes %v, exists after destroy %v, restored %d", len(got.History), got.BackupIsBytes, got.ExistsDestroyed, got.Restored)
	}
	ctr, _ := c.Verifier.Authenticate(t.Context(), c.CounterTokens["identity-basic"])
	if done, err := c.Verifier.Session(t.Context(), ctr, s.ID); err != nil || done.Status != verifier.StatusAccepted {
		t.Errorf("the counter's session after present() in Chromium: %+v, %v", done, err)
	}

	// Reload: a new wasm instance finds the restored wallet in IndexedDB.
	raw = ""
	if err := chromedp.Run(ctx, chromedp.Reload(), chromedp.Evaluate(afterReloadJS, &raw, await)); err != nil {
		t.Fatalf("after reload: %v", err)
	}
	var after struct {
		Exists, Unlocked bool
		List             []jsCredential
	}
	if err := json.Unmarshal([]byte(raw), &after); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if !after.Exists || after.Unlocked || len(after.List) != 1 || after.List[0].ID != got.Received.IDs[0] {
		t.Fatalf("after a reload: %s", raw)
	}
}
