// Package payments lets citizens pay fee orders by presenting their
// identity with the payment bound into their wallet's signature
// (OpenID4VP transaction_data). A paid order gets a receipt: a signed JWT
// and a printable page. Receipts name the payer by a pairwise reference,
// never by ID number. Settlement with a bank is out of scope: an order is
// "paid" when the citizen's signed authorization is verified.
//
// # Attempts
//
// Open orders are listed publicly and anyone may start paying one, so
// each start is an [Attempt] of its own with its own verifier session:
// a second start does not replace the first one's QR code. The attempt id
// is the payer's page link; the attempt that pays gets the receipt, and
// the receipt (which names the payer) is found by its own random id,
// never by the order id.
package payments

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tongid/tong/internal/ids"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/verifier"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Order states.
const (
	StatusOpen = "open"
	StatusPaid = "paid"
)

// TypReceipt is the typ of a receipt JWT.
const TypReceipt = "tong-receipt+jwt"

// Errors.
var (
	ErrNotFound = errors.New("payments: not found")
	ErrPaid     = errors.New("payments: this order is already paid")
)

// ReasonPaidElsewhere is Settle's reason when another attempt paid the
// order.
const ReasonPaidElsewhere = "order_already_paid"

// Verifier is what the service asks of the verifier: sessions of its
// counters, and their results. *verifier.Service is one.
type Verifier interface {
	CreateSession(ctx context.Context, c *verifier.Counter, nr verifier.NewRequest) (*verifier.Session, error)
	Session(ctx context.Context, c *verifier.Counter, id string) (*verifier.Session, error)
}

var _ Verifier = (*verifier.Service)(nil)

// Config configures the service.
type Config struct {
	DB       *store.DB
	Verifier Verifier
	// Counter is the verifier counter payments are asked through (purpose
	// pay-fee); Payee names who is paid.
	Counter *verifier.Counter
	Payee   string
	// Signer signs receipts; Issuer is the receipts' iss (a DID).
	Signer *keys.Signer
	KeyID  string
	Issuer string
	Secret []byte // 32 bytes: keys the pairwise payer references
	// Poll is how often Wait re-reads an attempt when no notification
	// arrives (0: DefaultPoll).
	Poll time.Duration
	Now  func() time.Time
}

// Service is the payments service.
type Service struct {
	cfg     Config
	st      orderStore
	started atomic.Int64 // attempts started, for the purge
}

// PurgeAfter is how long an attempt that did not pay is kept.
const PurgeAfter = 24 * time.Hour

// PurgeStale deletes attempts older than PurgeAfter that paid nothing
// (anyone may press Pay, so they would pile up), and returns how many.
// StartPayment runs it every 256 attempts.
func (s *Service) PurgeStale(ctx context.Context) (int64, error) {
	return s.st.purgeStale(ctx, s.cfg.Now().Add(-PurgeAfter))
}

// New opens the service and applies its schema.
func New(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.DB == nil || cfg.Verifier == nil || cfg.Counter == nil || cfg.Signer == nil || len(cfg.Secret) != 32 {
		return nil, errors.New("payments: DB, Verifier, Counter, Signer and a 32-byte Secret are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Poll == 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Poll < 0 {
		return nil, errors.New("payments: Poll must not be negative")
	}
	st, err := openStore(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, st: st}, nil
}

// Order is a fee to pay.
type Order struct {
	ID          string
	Reference   string
	Agency      string
	Description string
	AmountFen   int64
	Status      string
	Session     string
	Receipt     *Receipt
}

// Amount formats the amount in yuan, "120.00".
func (o *Order) Amount() string { return FormatFen(o.AmountFen) }

// FormatFen formats fen as yuan with two decimals.
func FormatFen(f int64) string { return fmt.Sprintf("%d.%02d", f/100, f%100) }

// Receipt is a paid order's proof.
type Receipt struct {
	ID        string
	PayerRef  string
	PayerName string
	PaidAt    time.Time
	JWT       string
	// Attempt is the attempt that paid ("" for receipts from before
	// attempts).
	Attempt string
}

// Attempt is one start of a payment: its id is the payer's link.
type Attempt struct {
	ID      string
	Order   *Order
	Session string
}

// CreateOrder adds a fee order.
func (s *Service) CreateOrder(ctx context.Context, agency, reference, description string, amountFen int64) (*Order, error) {
	if amountFen <= 0 || amountFen > 100_000_000 || reference == "" || agency == "" {
		return nil, errors.New("payments: an order needs an agency, a reference and an amount between 0.01 and 1,000,000.00 CNY")
	}
	o := &Order{ID: ids.New("ord_"), Reference: reference, Agency: agency, Description: description, AmountFen: amountFen, Status: StatusOpen}
	err := s.st.createOrder(ctx, o, s.cfg.Now())
	if errors.Is(err, errReferenceTaken) {
		return nil, fmt.Errorf("payments: reference %s exists", reference)
	}
	return o, err
}

// Order returns an order by id or reference, with its receipt if paid.
func (s *Service) Order(ctx context.Context, idOrRef string) (*Order, error) {
	return s.st.order(ctx, idOrRef)
}

// Open lists open orders, newest first.
func (s *Service) Open(ctx context.Context) ([]*Order, error) {
	return s.st.openOrders(ctx, 100)
}

// StartPayment asks the citizen to authorize the payment: a pay-fee
// request whose transaction_data is the order. Each call is a new
// attempt; earlier attempts stay answerable.
func (s *Service) StartPayment(ctx context.Context, id string) (*Attempt, *verifier.Session, error) {
	o, err := s.Order(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if o.Status != StatusOpen {
		return nil, nil, ErrPaid
	}
	sess, err := s.cfg.Verifier.CreateSession(ctx, s.cfg.Counter, verifier.NewRequest{Purpose: "pay-fee", TransactionData: map[string]any{
		"amount": o.Amount(), "currency": "CNY", "payee": s.cfg.Payee, "order_id": o.Reference}})
	if err != nil {
		return nil, nil, err
	}
	if s.started.Add(1)%256 == 0 {
		_, _ = s.PurgeStale(ctx) // the next round retries a failed purge
	}
	a := &Attempt{ID: "pay_" + ids.Random(16), Order: o, Session: sess.ID}
	if err := s.st.createAttempt(ctx, a, s.cfg.Now()); err != nil {
		return nil, nil, err
	}
	return a, sess, nil
}

// Attempt returns an attempt and its order. The order's Receipt is set
// only if this attempt paid it.
func (s *Service) Attempt(ctx context.Context, id string) (*Attempt, error) {
	orderID, session, err := s.st.attempt(ctx, id)
	if err != nil {
		return nil, err
	}
	a := &Attempt{ID: id, Session: session}
	if a.Order, err = s.Order(ctx, orderID); err != nil {
		return nil, err
	}
	if a.Order.Receipt != nil && a.Order.Receipt.Attempt != id {
		a.Order.Receipt = nil
	}
	return a, nil
}

// Receipt returns a paid order by its receipt's id.
func (s *Service) Receipt(ctx context.Context, receiptID string) (*Order, error) {
	orderID, err := s.st.receiptOrder(ctx, receiptID)
	if err != nil {
		return nil, err
	}
	return s.Order(ctx, orderID)
}

// Settle looks at an attempt's session and, once the verifier accepted a
// presentation that signed exactly this order, marks the order paid and
// writes the receipt. It returns the attempt and, if the payment failed,
// why (ReasonPaidElsewhere if another attempt paid first).
func (s *Service) Settle(ctx context.Context, attemptID string) (*Attempt, string, error) {
	a, err := s.Attempt(ctx, attemptID)
	if err != nil {
		return nil, "", err
	}
	o := a.Order
	if o.Status != StatusOpen {
		if o.Receipt == nil {
			return a, ReasonPaidElsewhere, nil
		}
		return a, "", nil
	}
	sess, err := s.cfg.Verifier.Session(ctx, s.cfg.Counter, a.Session)
	if verifier.CodeOf(err) == verifier.CodeNotFound {
		return a, string(verifier.CodeSessionExpired), nil // purged: it expired unanswered long ago
	}
	if err != nil {
		return nil, "", err
	}
	switch sess.Status {
	case verifier.StatusPending:
		return a, "", nil
	case verifier.StatusAccepted:
	default:
		reason := sess.Status
		if sess.Result != nil {
			reason = string(sess.Result.Code)
		}
		return a, reason, nil
	}
	var pres *verifier.Presented
	for i := range sess.Result.Credentials {
		if sess.Result.Credentials[i].QueryID == "pid" {
			pres = &sess.Result.Credentials[i]
		}
	}
	if pres == nil || len(pres.TransactionData) != 1 {
		return a, "no_payment_signed", nil
	}
	td := pres.TransactionData[0]
	if td["amount"] != o.Amount() || td["order_id"] != o.Reference || td["currency"] != "CNY" {
		return a, "payment_mismatch", nil
	}
	pan, _ := pres.Claims["personal_administrative_number"].(string)
	fam, _ := pres.Claims["family_name"].(string)
	giv, _ := pres.Claims["given_name"].(string)
	m := hmac.New(sha256.New, s.cfg.Secret)
	fmt.Fprintf(m, "payments\x00%s\x00%s", pres.IssuerDID, pan)
	payerRef := "P-" + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
	now := s.cfg.Now()
	r := &Receipt{ID: "rcpt_" + ids.Random(16), PayerRef: payerRef, PayerName: fam + giv, PaidAt: now, Attempt: a.ID}
	h, _ := json.Marshal(map[string]any{"alg": s.cfg.Signer.Alg(), "typ": TypReceipt, "kid": s.cfg.KeyID})
	p, _ := json.Marshal(map[string]any{"iss": s.cfg.Issuer, "jti": r.ID, "iat": now.Unix(), "order_id": o.Reference, "agency": o.Agency,
		"amount_fen": o.AmountFen, "currency": "CNY", "payee": s.cfg.Payee, "payer": payerRef, "verification": sess.ID})
	if r.JWT, err = jose.SignRaw(s.cfg.Signer, h, p); err != nil {
		return nil, "", err
	}
	err = s.st.completePayment(ctx, o.ID, r)
	if err != nil && !errors.Is(err, ErrPaid) {
		return nil, "", err
	}
	if err == nil {
		// Best effort (see store.Notifier): a lost message costs a waiter one Poll.
		_ = s.cfg.DB.Notifier().Notify(context.WithoutCancel(ctx), NotifyOrder, o.ID)
	}
	if a, err = s.Attempt(ctx, a.ID); err != nil {
		return nil, "", err
	}
	if a.Order.Receipt == nil {
		return a, ReasonPaidElsewhere, nil
	}
	return a, "", nil
}
