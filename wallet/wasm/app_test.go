//go:build !js

package main

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/didregistry/client"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
	"github.com/tongid/tong/wallet"
	"github.com/tongid/tong/wallet/memstore"
)

func newTestApp(t *testing.T, c *tongtest.City) *app {
	a := newApp(&memBackend{s: memstore.New()}, c.URL, c.Client())
	a.kdf = testKDF
	return a
}

func code(err error) string {
	if err == nil {
		return ""
	}
	return toAppError(err).Code
}

func offer(t testing.TB, c *tongtest.City, agency, typ string) *issuer.Offer {
	t.Helper()
	types, _ := issuer.DemoTypes()
	o, err := c.Issuer.CreateOffer(t.Context(), agency, "test", issuer.OfferRequest{Type: typ, Claims: types[typ].ExampleClaims})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func session(t testing.TB, c *tongtest.City, token string, nr verifier.NewRequest) *verifier.Session {
	t.Helper()
	ctr, err := c.Verifier.Authenticate(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Verifier.CreateSession(t.Context(), ctr, nr)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCitizenJourney runs the API the web app calls, in order, against a
// whole Tong: create, receive, list with display and status, present,
// history, pay with transaction_data, revoke, backup and restore.
func TestCitizenJourney(t *testing.T) {
	c := tongtest.New(t, tongtest.Options{})
	a := newTestApp(t, c)
	ctx := t.Context()

	if ok, err := a.exists(ctx); err != nil || ok {
		t.Fatalf("exists() on a new device = %v, %v", ok, err)
	}
	if _, err := a.list(ctx); code(err) != codeLocked {
		t.Fatalf("list() before create: %v, want %s", err, codeLocked)
	}
	if err := a.unlock(ctx, "1234"); code(err) != codeNoWallet {
		t.Fatalf("unlock() with no wallet: %v, want %s", err, codeNoWallet)
	}
	if err := a.create(ctx, "482916", ""); err != nil { // registry: the page origin
		t.Fatal(err)
	}
	if err := a.create(ctx, "482916", ""); code(err) != codeWalletExists {
		t.Fatalf("second create: %v", err)
	}

	// Receive: preview, a wrong PIN, then the right one.
	o := offer(t, c, "psb", "citizen-identity")
	info, err := a.offer(ctx, o.OfferURI)
	if err != nil {
		t.Fatal(err)
	}
	if info.IssuerName != "Beijing Municipal Public Security Bureau" || len(info.Credentials) != 1 || info.Credentials[0].Name != "Citizen identity" ||
		info.Credentials[0].NameZh != "居民身份凭证" || info.TxCode == nil || info.TxCode.Length != 6 || info.TxCode.InputMode != "numeric" {
		t.Fatalf("offer() = %+v (tx_code %+v)", info, info.TxCode)
	}
	wrong := "000000"
	if o.TxCode == wrong {
		wrong = "111111"
	}
	if _, err := a.receive(ctx, o.OfferURI, wrong); code(err) != wallet.CodeOfferInvalid {
		t.Fatalf("receive() with a wrong PIN: %v, want %s", err, wallet.CodeOfferInvalid)
	}
	got, err := a.receive(ctx, o.OfferURI, o.TxCode)
	if err != nil {
		t.Fatal(err)
	}
	id := got["ids"].([]string)[0]
	cs, err := a.list(ctx)
	if err != nil || len(cs) != 1 {
		t.Fatalf("list() = %d, %v", len(cs), err)
	}
	cr := cs[0]
	if cr.ID != id || cr.Status != wallet.StatusValid || cr.Display.Name != "Citizen identity" || cr.DisplayZh.Name != "居民身份凭证" ||
		cr.ClaimLabels["address.locality"] != "City" || cr.ClaimLabelsZh["family_name"] != "姓" || cr.CopiesLeft != 5 ||
		cr.IssuerName != "Beijing Municipal Public Security Bureau" || cr.ExpiresAt == "" || cr.Claims["family_name"] != "王" {
		t.Fatalf("list()[0] = %+v", cr)
	}

	// Lock; wrong passphrases count down, then lock out; unlock after.
	a.lock()
	if a.isUnlocked() {
		t.Fatal("still unlocked after lock()")
	}
	err = a.unlock(ctx, "000000")
	if e := toAppError(err); e.Code != codeWrongPassphrase || e.TriesLeft != wallet.LockoutFreeTries-1 || e.MessageZh == "" {
		t.Fatalf("unlock() with a wrong PIN: %+v", e)
	}
	if err := a.unlock(ctx, "482916"); err != nil {
		t.Fatalf("unlock(): %v", err)
	}

	// Present to the hall's counter.
	s := session(t, c, c.CounterTokens["identity-basic"], verifier.NewRequest{Purpose: "identity-basic"})
	req, err := a.request(ctx, s.RequestURI)
	if err != nil {
		t.Fatal(err)
	}
	if !req.Verifier.Accredited || req.Verifier.DID != c.HallDID || !strings.Contains(req.Verifier.Name, "Dongcheng") ||
		req.PurposeLabel != "Identity check" || req.PurposeLabelZh != "身份核验" || req.ResponseMode != "direct_post" || len(req.Credentials) != 1 {
		t.Fatalf("request() = %+v", req)
	}
	labels := map[string]bool{}
	for _, cl := range req.Credentials[0].Claims {
		labels[cl.Label] = true
		if cl.Path == "family_name" && cl.Value != "王" {
			t.Errorf("family_name value %v", cl.Value)
		}
	}
	if !labels["Family name"] {
		t.Errorf("request() claims have labels %v, want Family name among them", labels)
	}
	if _, err := a.present(ctx, req.Handle); err != nil {
		t.Fatal(err)
	}
	if _, err := a.present(ctx, req.Handle); code(err) != codeUnknownHandle {
		t.Fatalf("present() twice: %v", err)
	}
	ctr, _ := c.Verifier.Authenticate(ctx, c.CounterTokens["identity-basic"])
	if done, err := c.Verifier.Session(ctx, ctr, s.ID); err != nil || done.Status != verifier.StatusAccepted {
		t.Fatalf("the counter's session after present(): %+v, %v", done, err)
	}

	// Decline another.
	s2 := session(t, c, c.CounterTokens["identity-basic"], verifier.NewRequest{Purpose: "identity-basic"})
	req2, err := a.request(ctx, s2.RequestURI)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.decline(ctx, req2.Handle); err != nil {
		t.Fatal(err)
	}
	if done, _ := c.Verifier.Session(ctx, ctr, s2.ID); done.Status != verifier.StatusRejected {
		t.Fatalf("after decline() the session is %s, want rejected", done.Status)
	}

	// Pay: the consent screen shows amount and payee.
	pay := session(t, c, c.CounterTokens["pay-fee"], verifier.NewRequest{Purpose: "pay-fee",
		TransactionData: map[string]any{"amount": "35.00", "currency": "CNY", "payee": "Dongcheng Hall", "order_id": "ORD-7"}})
	preq, err := a.request(ctx, pay.RequestURI)
	if err != nil {
		t.Fatal(err)
	}
	if len(preq.TransactionData) != 1 || preq.TransactionData[0].Amount != "35.00" || preq.TransactionData[0].Payee != "Dongcheng Hall" ||
		preq.TransactionData[0].OrderID != "ORD-7" || preq.TransactionData[0].Raw["currency"] != "CNY" {
		t.Fatalf("request(pay-fee).transaction_data = %+v", preq.TransactionData)
	}
	if _, err := a.present(ctx, preq.Handle); err != nil {
		t.Fatal(err)
	}

	hist, err := a.history(ctx)
	if err != nil || len(hist) != 2 {
		t.Fatalf("history() = %+v, %v", hist, err)
	}
	if hist[0].Purpose != "pay-fee" || len(hist[0].TransactionData) != 1 || hist[1].PurposeLabel != "Identity check" ||
		hist[1].VerifierDID != c.HallDID || len(hist[1].Credentials) != 1 || hist[1].Credentials[0].Name != "Citizen identity" ||
		!containsStr(hist[1].Credentials[0].Claims, "Family name") {
		t.Fatalf("history() = %+v", hist)
	}

	// Revoke at the agency: refresh() shows it.
	var credID string
	audit, _ := c.Issuer.Audit(ctx, "psb", 100)
	for _, e := range audit {
		if e.Action == "credential.issue" {
			credID = e.Object
		}
	}
	if _, err := c.Issuer.SetStatus(ctx, "psb", "test", credID, "revoked"); err != nil {
		t.Fatal(err)
	}
	res, err := a.refresh(ctx)
	if err != nil || res.StatusesUpdated != 1 {
		t.Fatalf("refresh() = %+v, %v", res, err)
	}
	if one, err := a.get(ctx, id); err != nil || one.Status != wallet.StatusRevoked {
		t.Fatalf("get() after revocation: status %q, %v", one.Status, err)
	}

	// Backup, destroy, restore.
	b, err := a.backup(ctx, "backup pass")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.exists(ctx); ok || a.isUnlocked() {
		t.Fatal("the wallet is still there after destroy()")
	}
	if err := a.restore(ctx, b, "wrong", ""); code(err) != codeWrongPassphrase {
		t.Fatalf("restore() with a wrong passphrase: %v", err)
	}
	if err := a.restore(ctx, []byte("not a backup"), "backup pass", ""); code(err) != codeBadBackup {
		t.Fatalf("restore() of junk: %v", err)
	}
	if err := a.restore(ctx, b, "backup pass", ""); err != nil {
		t.Fatal(err)
	}
	cs, _ = a.list(ctx)
	if len(cs) != 1 || cs[0].ID != id || cs[0].Status != wallet.StatusRevoked {
		t.Fatalf("after restore: %+v", cs)
	}
	if err := a.remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := a.get(ctx, id); code(err) != codeNotFound {
		t.Fatalf("get() after remove(): %v", err)
	}
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestRefusesUnaccreditedVerifier: a verifier registered in the registry
// but not accredited for the purpose it asks for is refused, in words a
// citizen understands, and nothing is sent to it.
func TestRefusesUnaccreditedVerifier(t *testing.T) {
	c := tongtest.New(t, tongtest.Options{})
	ctx := t.Context()
	key, _ := c.Keys.Create("org-rogue", keys.ES256)
	did := c.Register(t, key, "", didregistry.RoleVerifier, "meeting-checkin") // not identity-basic
	if err := c.Verifier.AddOrg(ctx, verifier.Org{Slug: "rogue", Name: "Rogue office", DID: did, KeyName: "org-rogue", KeyID: did + "#key-1"}); err != nil {
		t.Fatal(err)
	}
	ctr, _, err := c.Verifier.AddCounter(ctx, "rogue", "desk", []string{"identity-basic"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Verifier.CreateSession(ctx, ctr, verifier.NewRequest{Purpose: "identity-basic"})
	if err != nil {
		t.Fatal(err)
	}
	a := newTestApp(t, c)
	if err := a.create(ctx, "482916", c.URL); err != nil {
		t.Fatal(err)
	}
	o := offer(t, c, "psb", "citizen-identity")
	if _, err := a.receive(ctx, o.OfferURI, o.TxCode); err != nil {
		t.Fatal(err)
	}
	_, err = a.request(ctx, s.RequestURI)
	e := toAppError(err)
	if e.Code != wallet.CodeVerifierNotAccredited {
		t.Fatalf("request() from an unaccredited verifier: %v, want %s", err, wallet.CodeVerifierNotAccredited)
	}
	for _, m := range []string{e.Description, e.MessageZh} {
		if m == "" || strings.Contains(m, "HTTP") || strings.Contains(m, "did:") || strings.Contains(m, "_") {
			t.Errorf("message %q is not for a citizen", m)
		}
	}
	if done, _ := c.Verifier.Session(ctx, ctr, s.ID); done.Status != verifier.StatusPending {
		t.Fatalf("the rogue verifier's session is %s: the wallet answered it", done.Status)
	}
}

// TestBackupFromCLIRestoresInBrowserStore: a backup exported from a
// SQLite wallet (the CLI's) restores through the app into the store the
// browser uses, with every credential and receipt intact, and the
// credentials present afterwards.
func TestBackupFromCLIRestoresInBrowserStore(t *testing.T) {
	c := tongtest.New(t, tongtest.Options{})
	ctx := t.Context()
	cli := c.Citizen(t, nil) // a SQLite wallet with two credentials
	want, err := cli.Credentials(ctx)
	if err != nil || len(want) != 2 {
		t.Fatalf("CLI wallet: %d credentials, %v", len(want), err)
	}
	var buf bytes.Buffer
	if err := cli.Export(ctx, &buf, []byte("pass")); err != nil {
		t.Fatal(err)
	}
	a := newTestApp(t, c)
	if err := a.restore(ctx, buf.Bytes(), "pass", c.URL); err != nil {
		t.Fatal(err)
	}
	cs, err := a.list(ctx)
	if err != nil || len(cs) != 2 || cs[0].ID != want[0].ID || cs[1].ID != want[1].ID || cs[0].CopiesLeft != want[0].CopiesLeft {
		t.Fatalf("restored list() = %+v, %v", cs, err)
	}
	s := session(t, c, c.CounterTokens["identity-basic"], verifier.NewRequest{Purpose: "identity-basic"})
	req, err := a.request(ctx, s.RequestURI)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.present(ctx, req.Handle); err != nil {
		t.Fatal(err)
	}
	// And back: the app's backup imports into a new SQLite wallet.
	b, err := a.backup(ctx, "again")
	if err != nil {
		t.Fatal(err)
	}
	w, err := wallet.Import(ctx, t.TempDir()+"/w.db", bytes.NewReader(b), []byte("again"), wallet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	hist, err := w.History(ctx)
	if err != nil || len(hist) != 1 {
		t.Fatalf("the CLI wallet restored from the app's backup has history %v, %v", hist, err)
	}
}

// TestLockoutInApp: the app reports the lockout with retry_after.
func TestLockoutInApp(t *testing.T) {
	c := tongtest.New(t, tongtest.Options{})
	ctx := t.Context()
	a := newTestApp(t, c)
	if err := a.create(ctx, "482916", ""); err != nil {
		t.Fatal(err)
	}
	a.lock()
	var last *appError
	for range wallet.LockoutFreeTries {
		last = toAppError(a.unlock(ctx, "111111"))
	}
	if last.Code != codeLockedOut || last.RetryAfter != int(wallet.LockoutBase.Seconds()) {
		t.Fatalf("after %d wrong tries: %+v, want locked_out with retry_after %v", wallet.LockoutFreeTries, last, wallet.LockoutBase)
	}
	// The right passphrase is refused too while locked out.
	if err := a.unlock(ctx, "482916"); code(err) != codeLockedOut {
		t.Fatalf("the right passphrase during a lockout: %v", err)
	}
	if !errors.Is(a.unlock(ctx, "482916"), wallet.ErrLockedOut) {
		t.Fatal("the app's error does not wrap wallet.ErrLockedOut")
	}
}

// countingTransport counts GETs of the trust authority's chain.
type countingTransport struct {
	rt        http.RoundTripper
	authority string
	mu        sync.Mutex
	n         int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/log") && strings.Contains(r.URL.Path, c.authority) {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}
	return c.rt.RoundTrip(r)
}

func (c *countingTransport) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestAccreditationsReused: the app replays the trust authority's chain
// once for several presentations in a visit, and again once
// accreditationsTTL has passed.
func TestAccreditationsReused(t *testing.T) {
	c := tongtest.New(t, tongtest.Options{})
	ctx := t.Context()
	ct := &countingTransport{rt: c.Client().Transport, authority: c.Authority}
	a := newApp(&memBackend{s: memstore.New()}, c.URL, &http.Client{Transport: ct})
	a.kdf = testKDF
	if err := a.create(ctx, "482916", ""); err != nil {
		t.Fatal(err)
	}
	o := offer(t, c, "psb", "citizen-identity")
	if _, err := a.receive(ctx, o.OfferURI, o.TxCode); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s := session(t, c, c.CounterTokens["identity-basic"], verifier.NewRequest{Purpose: "identity-basic"})
		req, err := a.request(ctx, s.RequestURI)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.present(ctx, req.Handle); err != nil {
			t.Fatal(err)
		}
	}
	if n := ct.count(); n != 1 {
		t.Fatalf("the trust authority's chain was fetched %d times for a receive and three presentations, want 1", n)
	}

	// The TTL, on the client itself.
	now := time.Now()
	rc, err := client.New(client.Config{BaseURL: c.URL, HTTPClient: &http.Client{Transport: ct}, Origin: tongtest.Origin, LogKey: c.LogKey,
		TrustAuthority: c.Authority, Now: func() time.Time { return now }, AccreditationsTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	before := ct.count()
	for range 2 {
		if as, err := rc.Accreditations(ctx); err != nil || len(as) == 0 {
			t.Fatalf("Accreditations = %v, %v", as, err)
		}
	}
	now = now.Add(time.Minute)
	if _, err := rc.Accreditations(ctx); err != nil {
		t.Fatal(err)
	}
	if n := ct.count() - before; n != 2 {
		t.Fatalf("with a one-minute TTL, three calls a minute apart fetched the chain %d times, want 2", n)
	}
}
