package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tongid/tong/services/meetings"
	"github.com/tongid/tong/services/payments"
	"github.com/tongid/tong/verifier"
)

func (s *Server) meetingsRoutes(r chi.Router) {
	r.Get("/meetings/", s.meetingsHome)
	r.Post("/meetings/book/{slot}", s.meetingsBook)
	r.Get("/meetings/bookings/{id}", s.meetingsBooking)
	r.Get("/meetings/bookings/{id}/events", s.meetingsBookingEvents)
	r.Post("/meetings/cancel", s.meetingsCancel)
	r.Get("/meetings/checkin", s.meetingsCheckinForm)
	r.Post("/meetings/checkin", s.meetingsCheckinStart)
	r.Get("/meetings/checkin/{number}", s.meetingsCheckin)
	r.Get("/meetings/checkin/{number}/events", s.meetingsCheckinEvents)
	r.Get("/meetings/official/{id}", s.meetingsOfficial)
	r.Post("/meetings/official/{id}/slots", s.meetingsPublish)
}

func (s *Server) paymentsRoutes(r chi.Router) {
	r.Get("/payments/", s.paymentsHome)
	r.Post("/payments/pay/{id}", s.paymentsPay)
	r.Get("/payments/attempts/{id}", s.paymentsAttempt)
	r.Get("/payments/attempts/{id}/events", s.paymentsEvents)
	r.Get("/payments/receipts/{id}", s.paymentsReceipt)
}

// liveData is a page that shows a QR code until the wallet answers, then
// the outcome (rendered by the server, pushed over server-sent events).
type liveData struct {
	page
	Heading, Ask, Status string
	Events               string
	QR, Link             template.URL
	Outcome              template.HTML
	// Return is where the wallet on this device comes back to.
	Return string
}

func (s *Server) renderFragment(name string, data any) template.HTML {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return ""
	}
	return template.HTML(buf.String()) // produced by html/template: escaped
}

// stream sends the rendered outcome as one "outcome" event once wait
// returns it. wait blocks until the outcome is settled: the services'
// Wait calls, which another replica's notification wakes (LISTEN/NOTIFY
// on PostgreSQL). Comments keep the connection alive meanwhile.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, wait func(ctx context.Context) (template.HTML, bool)) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, ": waiting\n\n")
	fl.Flush()
	ctx, cancel := context.WithTimeout(r.Context(), verifier.DefaultSessionTTL+5*time.Second)
	defer cancel()
	type outcome struct {
		html template.HTML
		done bool
	}
	out := make(chan outcome, 1)
	go func() {
		html, done := wait(ctx)
		out <- outcome{html, done}
	}()
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case o := <-out:
			if o.done {
				fmt.Fprintf(w, "event: outcome\ndata: %s\n\n", strings.ReplaceAll(string(o.html), "\n", " "))
				fl.Flush()
			}
			return
		case <-beat.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		}
	}
}

// --- meetings ---

func (s *Server) meetingsHome(w http.ResponseWriter, r *http.Request) { s.meetingsHomePage(w, r, "") }

func (s *Server) meetingsHomePage(w http.ResponseWriter, r *http.Request, msg string) {
	slots, err := s.cfg.Meetings.Upcoming(r.Context(), time.Now().AddDate(0, 0, 8))
	if err != nil {
		msg = publicError(err)
	}
	offs, _ := s.cfg.Meetings.Officials(r.Context())
	s.render(w, r, "meetings.html", struct {
		page
		Slots     []*meetings.Slot
		Officials []meetings.Official
	}{page{Title: "Meetings · 预约会见", Error: msg}, slots, offs})
}

// meetingsBook starts a booking and sends the booker to their own link:
// the booking page with the cancel key, which only they get.
func (s *Server) meetingsBook(w http.ResponseWriter, r *http.Request) {
	b, _, err := s.cfg.Meetings.Book(r.Context(), chi.URLParam(r, "slot"))
	if err != nil {
		w.WriteHeader(http.StatusConflict)
		s.meetingsHomePage(w, r, serviceError(err))
		return
	}
	http.Redirect(w, r, bookingLink(b.ID, "", b.CancelKey), http.StatusSeeOther)
}

// bookingLink is the path of a booking's page (sub "") or of its events
// ("/events"); with key it is the booker's link, whose page can cancel.
func bookingLink(id, sub, key string) string {
	p := "/meetings/bookings/" + url.PathEscape(id) + sub
	if key != "" {
		p += "?key=" + url.QueryEscape(key)
	}
	return p
}

// bookingView is a booking as its page shows it: Key is the cancel key
// when the page was opened with the booker's link.
type bookingView struct {
	*meetings.Booking
	Key string
}

func (s *Server) bookingView(r *http.Request, b *meetings.Booking) bookingView {
	v := bookingView{Booking: b}
	if k := r.URL.Query().Get("key"); b.CancelKeyOK(k) {
		v.Key = k
	}
	return v
}

func serviceError(err error) string {
	switch {
	case errors.Is(err, meetings.ErrTaken):
		return "This slot was just booked by someone else. 该时段已被预约。 Choose another slot. 请选择其他时段。"
	case errors.Is(err, meetings.ErrNotBooked), errors.Is(err, meetings.ErrNotFound):
		return "No active booking with that number. 未找到有效预约。"
	case errors.Is(err, meetings.ErrCancelDenied):
		return "Only the link you got when booking can cancel it. 仅可通过预约时获得的链接取消。"
	case errors.Is(err, payments.ErrPaid):
		return "This order is already paid. 该订单已支付。 Open the receipt instead; nothing more to pay. 无需再次支付，请查看收据。"
	case errors.Is(err, payments.ErrNotFound):
		return "No such order. 未找到订单。 Check the order reference with the counter. 请向窗口核对订单号。"
	}
	return publicError(err)
}

func (s *Server) meetingsBooking(w http.ResponseWriter, r *http.Request) {
	b, err := s.cfg.Meetings.Settle(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		s.meetingsHomePage(w, r, serviceError(err))
		return
	}
	v := s.bookingView(r, b)
	d := liveData{page: page{Title: "Booking · 预约"}, Heading: b.Slot.Official.Name + " · " + b.Slot.StartsAt.Local().Format("01-02 15:04"),
		Ask:    "Scan with your wallet to book: your identity and Beijing residence are checked. 请用钱包扫码，核验身份与居住信息。",
		Status: "done", Events: bookingLink(b.ID, "/events", v.Key), Outcome: s.renderFragment("booking-outcome", v)}
	if b.Status == meetings.StatusVerifying {
		d.Status = "pending"
		uri := s.cfg.Verifier.RequestURI(&verifier.Session{ID: b.Session, Counter: s.bookingCounter()})
		d.QR, d.Link, d.Return = qrDataURL(uri), deepLink(uri), r.URL.Path
	}
	s.render(w, r, "live.html", d)
}

func (s *Server) bookingCounter() string { return s.cfg.MeetingsBookingCounter }

func (s *Server) meetingsBookingEvents(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	s.stream(w, r, func(ctx context.Context) (template.HTML, bool) {
		b, err := s.cfg.Meetings.Wait(ctx, id)
		if err != nil || b.Status == meetings.StatusVerifying {
			return "", err != nil
		}
		return s.renderFragment("booking-outcome", s.bookingView(r, b)), true
	})
}

// meetingsCancel cancels a booking: it takes the booking's id and the
// cancel key of the booker's link (the booking number alone is refused).
func (s *Server) meetingsCancel(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	id := strings.TrimSpace(r.PostForm.Get("booking"))
	if err := s.cfg.Meetings.Cancel(r.Context(), id, r.PostForm.Get("key")); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, meetings.ErrCancelDenied) {
			status = http.StatusForbidden
		}
		w.WriteHeader(status)
		s.meetingsHomePage(w, r, serviceError(err))
		return
	}
	http.Redirect(w, r, bookingLink(id, "", ""), http.StatusSeeOther)
}

func (s *Server) meetingsCheckinForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "checkin.html", page{Title: "Reception · 前台"})
}

func (s *Server) meetingsCheckinStart(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	number := strings.ToUpper(strings.TrimSpace(r.PostForm.Get("number")))
	if _, _, err := s.cfg.Meetings.StartCheckIn(r.Context(), number); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		s.render(w, r, "checkin.html", page{Title: "Reception · 前台", Error: serviceError(err)})
		return
	}
	http.Redirect(w, r, "/meetings/checkin/"+url.PathEscape(number), http.StatusSeeOther)
}

func (s *Server) meetingsCheckin(w http.ResponseWriter, r *http.Request) {
	number := chi.URLParam(r, "number")
	res, err := s.cfg.Meetings.SettleCheckIn(r.Context(), number)
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		s.render(w, r, "checkin.html", page{Title: "Reception · 前台", Error: serviceError(err)})
		return
	}
	d := liveData{page: page{Title: "Check-in · 签到"}, Heading: "Check-in " + number,
		Ask:    "Ask the citizen to scan with their wallet. 请市民用钱包扫码签到。",
		Status: "done", Events: "/meetings/checkin/" + number + "/events", Outcome: s.renderFragment("checkin-outcome", res)}
	if res.Pending {
		d.Status = "pending"
		uri := s.cfg.Verifier.RequestURI(&verifier.Session{ID: res.Booking.CheckIn, Counter: s.cfg.MeetingsCheckinCounter})
		d.QR, d.Link, d.Return = qrDataURL(uri), deepLink(uri), r.URL.Path
	}
	s.render(w, r, "live.html", d)
}

func (s *Server) meetingsCheckinEvents(w http.ResponseWriter, r *http.Request) {
	number := chi.URLParam(r, "number")
	s.stream(w, r, func(ctx context.Context) (template.HTML, bool) {
		res, err := s.cfg.Meetings.WaitCheckIn(ctx, number)
		if err != nil || res.Pending {
			return "", err != nil
		}
		return s.renderFragment("checkin-outcome", res), true
	})
}

// meetingsPublish adds a slot for an official. Agency staff publish for
// their officials: it needs the agency console's sign-in.
func (s *Server) meetingsPublish(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Issuer == nil || s.staffFromCookie(r) == nil {
		w.WriteHeader(http.StatusUnauthorized)
		s.meetingsHomePage(w, r, "Sign in to the agency console first to publish slots. 请先登录机关控制台。")
		return
	}
	_ = r.ParseForm()
	at, err := time.ParseInLocation("2006-01-02T15:04", r.PostForm.Get("date")+"T"+r.PostForm.Get("time"), time.Local)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		s.meetingsHomePage(w, r, "Date and time are required. 请填写日期与时间。")
		return
	}
	if _, err := s.cfg.Meetings.Publish(r.Context(), chi.URLParam(r, "id"), at, 30, strings.TrimSpace(r.PostForm.Get("place")), strings.TrimSpace(r.PostForm.Get("topic"))); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		s.meetingsHomePage(w, r, publicError(err))
		return
	}
	http.Redirect(w, r, "/meetings/official/"+url.PathEscape(chi.URLParam(r, "id"))+"?day="+at.Format(time.DateOnly), http.StatusSeeOther)
}

func (s *Server) meetingsOfficial(w http.ResponseWriter, r *http.Request) {
	offs, _ := s.cfg.Meetings.Officials(r.Context())
	var off *meetings.Official
	for i := range offs {
		if offs[i].ID == chi.URLParam(r, "id") {
			off = &offs[i]
		}
	}
	if off == nil {
		http.NotFound(w, r)
		return
	}
	day := time.Now()
	if d, err := time.ParseInLocation(time.DateOnly, r.URL.Query().Get("day"), time.Local); err == nil {
		day = d
	}
	bs, err := s.cfg.Meetings.Day(r.Context(), off.ID, day)
	if err != nil {
		s.meetingsHomePage(w, r, publicError(err))
		return
	}
	// Booking numbers and citizen references are for agency staff only:
	// a public page that listed them would hand out the reception's keys.
	s.render(w, r, "official.html", struct {
		page
		Official   *meetings.Official
		Day        time.Time
		Prev, Next string
		Bookings   []*meetings.Booking
		Staff      bool
	}{page{Title: off.Name}, off, day, day.AddDate(0, 0, -1).Format(time.DateOnly), day.AddDate(0, 0, 1).Format(time.DateOnly), bs, s.staffFromCookie(r) != nil})
}

// --- payments ---

func (s *Server) paymentsHome(w http.ResponseWriter, r *http.Request) { s.paymentsHomePage(w, r, "") }

func (s *Server) paymentsHomePage(w http.ResponseWriter, r *http.Request, msg string) {
	os, err := s.cfg.Payments.Open(r.Context())
	if err != nil {
		msg = publicError(err)
	}
	s.render(w, r, "payments.html", struct {
		page
		Orders []*payments.Order
	}{page{Title: "Pay a fee · 缴费", Error: msg}, os})
}

// paymentsPay starts a payment attempt of its own and sends the payer to
// its page: another press of "Pay" on the same order cannot swap this
// payer's QR code, and only the attempt that pays links the receipt.
func (s *Server) paymentsPay(w http.ResponseWriter, r *http.Request) {
	a, _, err := s.cfg.Payments.StartPayment(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		s.paymentsHomePage(w, r, serviceError(err))
		return
	}
	http.Redirect(w, r, "/payments/attempts/"+url.PathEscape(a.ID), http.StatusSeeOther)
}

type paymentOutcome struct {
	Order  *payments.Order
	Reason string
}

func (s *Server) paymentsAttempt(w http.ResponseWriter, r *http.Request) {
	a, reason, err := s.cfg.Payments.Settle(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		w.WriteHeader(http.StatusNotFound)
		s.paymentsHomePage(w, r, serviceError(err))
		return
	}
	o := a.Order
	d := liveData{page: page{Title: "Payment · 支付"}, Heading: "¥" + o.Amount() + " · " + o.Reference,
		Ask:    "Scan with your wallet: it shows the amount and payee, and you sign exactly that. 请用钱包扫码，确认金额与收款方后签名支付。",
		Status: "done", Events: "/payments/attempts/" + url.PathEscape(a.ID) + "/events", Outcome: s.renderFragment("payment-outcome", paymentOutcome{o, reason})}
	if o.Receipt == nil && reason == "" {
		d.Status = "pending"
		uri := s.cfg.Verifier.RequestURI(&verifier.Session{ID: a.Session, Counter: s.cfg.PaymentsCounter})
		d.QR, d.Link, d.Return = qrDataURL(uri), deepLink(uri), r.URL.Path
	}
	s.render(w, r, "live.html", d)
}

func (s *Server) paymentsEvents(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	s.stream(w, r, func(ctx context.Context) (template.HTML, bool) {
		a, reason, err := s.cfg.Payments.Wait(ctx, id)
		if err != nil || (a.Order.Receipt == nil && reason == "") {
			return "", err != nil
		}
		return s.renderFragment("payment-outcome", paymentOutcome{a.Order, reason}), true
	})
}

// paymentsReceipt shows a receipt by its own id, which only the paying
// attempt's page links (never by the order id, which the list shows).
func (s *Server) paymentsReceipt(w http.ResponseWriter, r *http.Request) {
	o, err := s.cfg.Payments.Receipt(r.Context(), chi.URLParam(r, "id"))
	if err != nil || o.Receipt == nil {
		http.NotFound(w, r)
		return
	}
	s.render(w, r, "receipt.html", struct {
		page
		Order *payments.Order
	}{page{Title: "Receipt · 收据"}, o})
}
