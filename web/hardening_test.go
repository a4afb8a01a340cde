package web_test

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/wallet"
)

var (
	bookFormRE   = regexp.MustCompile(`action="/meetings/book/(slot_[^"]+)"`)
	officialRE   = regexp.MustCompile(`/meetings/official/(off_[^"]+)"`)
	bookNumRE    = regexp.MustCompile(`class="pinvalue">(BK-[A-Z2-7]+)<`)
	citizenRefRE = regexp.MustCompile(`C-[A-Za-z0-9_-]{16}`)
)

// bookVia starts a booking of slot through the pages and returns the
// page the booker lands on (its URL is the booker's own link).
func (s *site) bookVia(t *testing.T, slot string) (int, *url.URL, string) {
	t.Helper()
	resp, err := s.hc.PostForm(s.c.URL+"/meetings/book/"+slot, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Request.URL, string(b)
}

// answerPage has the wallet answer the openid4vp link on a page.
func answerPage(t *testing.T, w *wallet.Wallet, body string) {
	t.Helper()
	m := hrefRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no openid4vp link on the page: %s", body)
	}
	if err := tongtest.Answer(t, w, html.UnescapeString(m[1])); err != nil {
		t.Fatal(err)
	}
}

// TestUnverifiedPostsHoldNoSlot (issue 16, item 5): POSTs without a
// presentation hold nothing, so they cannot block an official's slots,
// and one verified citizen holds at most MaxBookingsPerCitizen of them.
func TestUnverifiedPostsHoldNoSlot(t *testing.T) {
	s := newSite(t)
	_, home := s.get(t, "/meetings/")
	slots := bookFormRE.FindAllStringSubmatch(home, -1)
	if len(slots) != 3 {
		t.Fatalf("%d bookable slots on the home page, want 3", len(slots))
	}
	// The attacker starts a booking of every slot, twice, and answers none.
	for range 2 {
		for _, m := range slots {
			if st, _, _ := s.bookVia(t, m[1]); st != 200 {
				t.Fatalf("attacker's booking start: %d", st)
			}
		}
	}
	if _, home := s.get(t, "/meetings/"); len(bookFormRE.FindAllString(home, -1)) != 3 {
		t.Fatalf("unanswered bookings hold slots: %s", home)
	}
	// A citizen books every slot: the first two are theirs, the third is
	// over the limit.
	w := s.c.Citizen(t, nil)
	for i, m := range slots {
		st, link, body := s.bookVia(t, m[1])
		if st != 200 {
			t.Fatalf("citizen's booking %d: %d", i, st)
		}
		answerPage(t, w, body)
		_, body = s.get(t, link.RequestURI())
		booked := strings.Contains(body, "verdict ok")
		if want := i < 2; booked != want {
			t.Fatalf("booking %d: booked %v, want %v: %s", i, booked, want, body)
		}
		if i == 2 && !strings.Contains(body, "booking_limit") {
			t.Fatalf("the third booking does not say why it failed: %s", body)
		}
	}
	if _, home := s.get(t, "/meetings/"); len(bookFormRE.FindAllString(home, -1)) != 1 {
		t.Fatalf("after two bookings, %d slots are bookable, want 1", len(bookFormRE.FindAllString(home, -1)))
	}
}

// TestCancelNeedsTheBookersKey (issue 16, item 6): the official's public
// page shows no booking numbers or citizen references, and a booking is
// cancelled only with the secret key in the booker's own link: neither
// the number nor the booking id alone will do.
func TestCancelNeedsTheBookersKey(t *testing.T) {
	s := newSite(t)
	_, home := s.get(t, "/meetings/")
	slot := bookFormRE.FindStringSubmatch(home)[1]
	official := officialRE.FindStringSubmatch(home)[1]
	w := s.c.Citizen(t, nil)
	_, link, body := s.bookVia(t, slot)
	answerPage(t, w, body)
	_, body = s.get(t, link.RequestURI())
	num := bookNumRE.FindStringSubmatch(body)
	if num == nil || !strings.Contains(body, `action="/meetings/cancel"`) {
		t.Fatalf("the booker's page has no booking number or cancel form: %s", body)
	}
	number := num[1]
	bookingID := strings.TrimPrefix(link.Path, "/meetings/bookings/")

	// A stranger: the official's day page, and the booking page without
	// the key.
	stranger := &site{c: s.c, hc: &http.Client{Transport: s.c.Client().Transport}}
	for _, day := range []string{"", "?day=" + time.Now().Add(24*time.Hour).Format(time.DateOnly), "?day=" + time.Now().Add(26*time.Hour).Format(time.DateOnly)} {
		_, page := stranger.get(t, "/meetings/official/"+official+day)
		if strings.Contains(page, number) || citizenRefRE.MatchString(page) {
			t.Fatalf("the official's public page shows a booking number or citizen reference: %s", page)
		}
	}
	if _, page := stranger.get(t, "/meetings/bookings/"+bookingID); strings.Contains(page, `action="/meetings/cancel"`) {
		t.Fatal("the booking page offers cancelling without the key")
	}
	for _, form := range []url.Values{
		{"number": {number}},
		{"booking": {number}},
		{"booking": {bookingID}},
		{"booking": {bookingID}, "key": {"not-the-key"}},
		{"booking": {bookingID}, "key": {link.Query().Get("key") + "x"}},
	} {
		if st, _ := stranger.post(t, "/meetings/cancel", form); st != http.StatusForbidden && st != http.StatusBadRequest {
			t.Errorf("cancel with %v: %d", form, st)
		}
	}
	if _, body := s.get(t, link.RequestURI()); !strings.Contains(body, "verdict ok") {
		t.Fatalf("a stranger cancelled the booking: %s", body)
	}
	// The booker, with the key from their link.
	if st, body := s.post(t, "/meetings/cancel", url.Values{"booking": {bookingID}, "key": {link.Query().Get("key")}}); st != 200 || !strings.Contains(body, "Cancelled") {
		t.Fatalf("the booker's cancel: %d %s", st, body)
	}
	if _, home := s.get(t, "/meetings/"); len(bookFormRE.FindAllString(home, -1)) != 3 {
		t.Fatal("the cancelled slot is not free again")
	}
}

var (
	payFormRE = regexp.MustCompile(`action="/payments/pay/(ord_[^"]+)"`)
	receiptRE = regexp.MustCompile(`href="(/payments/receipts/[^"]+)"`)
)

// TestPaymentAttemptsAreTheirOwn (issue 16, beyond the list): anyone may
// press "Pay" on a listed order, but that must not take the order over.
// Each press is an attempt of its own: another press does not swap the
// QR code the payer is answering, and only the page of the attempt that
// paid links the receipt (which names the payer); the order id, which
// the public list shows, opens no receipt.
func TestPaymentAttemptsAreTheirOwn(t *testing.T) {
	s := newSite(t)
	_, list := s.get(t, "/payments/")
	order := payFormRE.FindStringSubmatch(list)[1]
	pay := func(hc *http.Client) (string, string) {
		t.Helper()
		resp, err := hc.PostForm(s.c.URL+"/payments/pay/"+order, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("pay: %d %s", resp.StatusCode, b)
		}
		return resp.Request.URL.RequestURI(), string(b)
	}
	payerPage, body := pay(s.hc)
	stranger := &site{c: s.c, hc: &http.Client{Transport: s.c.Client().Transport}}
	strangerPage, _ := pay(stranger.hc) // presses Pay while the payer scans
	if strangerPage == payerPage {
		t.Fatal("the stranger landed on the payer's page")
	}
	answerPage(t, s.c.Citizen(t, nil), body)
	_, body = s.get(t, payerPage)
	rc := receiptRE.FindStringSubmatch(body)
	if !strings.Contains(body, "verdict ok") || rc == nil {
		t.Fatalf("the payer's page after paying: %s", body)
	}
	if st, receipt := s.get(t, rc[1]); st != 200 || !strings.Contains(receipt, "P-") {
		t.Fatalf("receipt: %d", st)
	}
	// The stranger's attempt page, and every page named by the order id,
	// show no receipt.
	if _, page := stranger.get(t, strangerPage); receiptRE.MatchString(page) || strings.Contains(page, "王") {
		t.Fatalf("the stranger's attempt page links the receipt: %s", page)
	}
	for _, p := range []string{"/payments/receipts/" + order, "/payments/orders/" + order} {
		if st, page := stranger.get(t, p); st == 200 || strings.Contains(page, "王") {
			t.Errorf("GET %s by a stranger: %d", p, st)
		}
	}
}
