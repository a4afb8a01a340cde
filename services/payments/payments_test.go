package payments_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/services/payments"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
)

func TestPayWithSignedTransactionData(t *testing.T) {
	c := tongtest.New(t, tongtest.Options{})
	ctx := context.Background()
	ctr, err := c.Verifier.Authenticate(ctx, c.CounterTokens["pay-fee"])
	if err != nil {
		t.Fatal(err)
	}
	key, _ := keys.Generate(nil, keys.ES256)
	s, err := payments.New(ctx, payments.Config{DB: c.DB, Verifier: c.Verifier, Counter: ctr, Payee: "Dongcheng District Government Service Hall",
		Signer: key, KeyID: c.HallDID + "#key-1", Issuer: c.HallDID, Secret: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	o, err := s.CreateOrder(ctx, "Dongcheng hall", "FEE-2026-0042", "Residence certificate fee", 12000)
	if err != nil {
		t.Fatal(err)
	}
	if o.Amount() != "120.00" {
		t.Fatalf("amount %s", o.Amount())
	}
	w := c.Citizen(t, nil)
	// Someone else starts paying the same order first; it does not take
	// the order over.
	other, _, err := s.StartPayment(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	att, sess, err := s.StartPayment(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	req, err := w.Match(ctx, sess.RequestURI)
	if err != nil {
		t.Fatal(err)
	}
	if len(req.TransactionData) != 1 || req.TransactionData[0]["amount"] != "120.00" || req.TransactionData[0]["order_id"] != "FEE-2026-0042" {
		t.Fatalf("the wallet was asked to sign %v", req.TransactionData)
	}
	if err := tongtest.Answer(t, w, sess.RequestURI); err != nil {
		t.Fatal(err)
	}
	a, reason, err := s.Settle(ctx, att.ID)
	if err != nil || reason != "" || a.Order.Status != payments.StatusPaid || a.Order.Receipt == nil {
		t.Fatalf("settle: %+v %q %v", a, reason, err)
	}
	o = a.Order
	jws, err := jose.Parse(o.Receipt.JWT, 1<<16)
	if err != nil || jws.Verify(key.Public()) != nil || jws.Header.Typ != payments.TypReceipt {
		t.Fatalf("receipt: %v", err)
	}
	if strings.Contains(string(jws.Payload), "110101199005170034") || !strings.Contains(string(jws.Payload), `"payer":"P-`) {
		t.Fatalf("receipt payload %s", jws.Payload)
	}
	if _, _, err := s.StartPayment(ctx, o.ID); err != payments.ErrPaid {
		t.Fatalf("paying twice: %v", err)
	}
	if a, reason, err := s.Settle(ctx, other.ID); err != nil || reason != payments.ReasonPaidElsewhere || a.Order.Receipt != nil {
		t.Fatalf("the other attempt: %+v %q %v", a, reason, err)
	}
	if r, err := s.Receipt(ctx, o.Receipt.ID); err != nil || r.Receipt == nil || r.Receipt.ID != o.Receipt.ID {
		t.Fatalf("receipt by id: %+v %v", r, err)
	}
	if _, err := s.Receipt(ctx, o.ID); err != payments.ErrNotFound {
		t.Fatalf("receipt by order id: %v", err)
	}
}

// TestStaleAttemptsArePurged: anyone may press Pay, so attempts that paid
// nothing are deleted a day later; the paying attempt stays.
func TestStaleAttemptsArePurged(t *testing.T) {
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	c := tongtest.New(t, tongtest.Options{VerifierConfig: func(cfg *verifier.Config) { cfg.Now = now }})
	ctx := context.Background()
	ctr, _ := c.Verifier.Authenticate(ctx, c.CounterTokens["pay-fee"])
	key, _ := keys.Generate(nil, keys.ES256)
	s, err := payments.New(ctx, payments.Config{DB: c.DB, Verifier: c.Verifier, Counter: ctr, Payee: "Dongcheng hall",
		Signer: key, KeyID: c.HallDID + "#key-1", Issuer: c.HallDID, Secret: make([]byte, 32), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	o, _ := s.CreateOrder(ctx, "Dongcheng hall", "FEE-2026-0043", "Residence certificate fee", 2000)
	stale, _, err := s.StartPayment(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	paid, sess, _ := s.StartPayment(ctx, o.ID)
	if err := tongtest.Answer(t, c.Citizen(t, nil), sess.RequestURI); err != nil {
		t.Fatal(err)
	}
	if _, reason, err := s.Settle(ctx, paid.ID); err != nil || reason != "" {
		t.Fatalf("pay: %q %v", reason, err)
	}
	unpaid, _ := s.CreateOrder(ctx, "Dongcheng hall", "FEE-2026-0044", "Residence certificate fee", 2000)
	abandoned, _, _ := s.StartPayment(ctx, unpaid.ID)
	mu.Lock()
	clock = clock.Add(payments.PurgeAfter + verifier.DefaultSessionTTL + time.Minute)
	mu.Unlock()
	if _, err := c.Verifier.PurgeExpired(ctx); err != nil {
		t.Fatal(err)
	}
	if _, reason, err := s.Settle(ctx, abandoned.ID); err != nil || reason != "session_expired" {
		t.Fatalf("an attempt whose session was purged: %q %v", reason, err)
	}
	if n, err := s.PurgeStale(ctx); err != nil || n != 2 {
		t.Fatalf("purge: %d %v, want 2", n, err)
	}
	for _, a := range []*payments.Attempt{stale, abandoned} {
		if _, err := s.Attempt(ctx, a.ID); err != payments.ErrNotFound {
			t.Fatalf("attempt %s is still there: %v", a.ID, err)
		}
	}
	if a, err := s.Attempt(ctx, paid.ID); err != nil || a.Order.Receipt == nil {
		t.Fatalf("the paying attempt after the purge: %+v %v", a, err)
	}
}
