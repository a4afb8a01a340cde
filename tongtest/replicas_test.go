package tongtest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tongid/tong/internal/pgtest"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
	"github.com/tongid/tong/wallet"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// race runs each fn at the same instant (as near as goroutines get) and
// returns their errors.
func race(fns ...func() error) []error {
	errs := make([]error, len(fns))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn()
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func offer(t *testing.T, c *tongtest.City) *issuer.Offer {
	t.Helper()
	types, _ := issuer.DemoTypes()
	o, err := c.Issuer.CreateOffer(t.Context(), "psb", "test", issuer.OfferRequest{Type: "citizen-identity", Claims: types["citizen-identity"].ExampleClaims})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// The same pre-authorized code fired at two replicas at the same instant,
// many times: exactly one redeems it each time.
func TestPreAuthorizedCodeRace(t *testing.T) {
	t.Parallel()
	a := tongtest.New(t, tongtest.Options{PostgreSQL: true})
	b := a.Replica(t)
	const rounds = 40
	for round := range rounds {
		o := offer(t, a)
		req := issuer.TokenRequest{GrantType: issuer.GrantPreAuthorizedCode, PreAuthorizedCode: o.PreAuthorizedCode, TxCode: o.TxCode, TxCodeSent: true}
		errs := race(
			func() error { _, err := a.Issuer.Token(t.Context(), "psb", req); return err },
			func() error { _, err := b.Issuer.Token(t.Context(), "psb", req); return err },
			func() error { _, err := b.Issuer.Token(t.Context(), "psb", req); return err },
		)
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case issuer.CodeOf(err) != issuer.CodeInvalidGrant:
				t.Errorf("round %d: loser's error = %v, want %s", round, err, issuer.CodeInvalidGrant)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d of %d redemptions succeeded, want exactly 1", round, wins, len(errs))
		}
	}
}

// Wrong tx_codes fired at two replicas at once all count: after
// MaxTxTries of them, however interleaved, the offer is locked, and the
// right tx_code no longer works.
func TestTxCodeTriesRace(t *testing.T) {
	t.Parallel()
	a := tongtest.New(t, tongtest.Options{PostgreSQL: true})
	b := a.Replica(t)
	for round := range 5 {
		o := offer(t, a)
		wrong := "0000000"
		if o.TxCode == wrong {
			wrong = "1111111"
		}
		bad := issuer.TokenRequest{GrantType: issuer.GrantPreAuthorizedCode, PreAuthorizedCode: o.PreAuthorizedCode, TxCode: wrong, TxCodeSent: true}
		var fns []func() error
		for i := range issuer.DefaultMaxTxTries {
			s := a.Issuer
			if i%2 == 1 {
				s = b.Issuer
			}
			fns = append(fns, func() error { _, err := s.Token(t.Context(), "psb", bad); return err })
		}
		for i, err := range race(fns...) {
			if issuer.CodeOf(err) != issuer.CodeInvalidGrant {
				t.Fatalf("round %d: wrong tx_code %d = %v, want %s", round, i, err, issuer.CodeInvalidGrant)
			}
		}
		good := bad
		good.TxCode = o.TxCode
		if _, err := b.Issuer.Token(t.Context(), "psb", good); issuer.CodeOf(err) != issuer.CodeInvalidGrant || !strings.Contains(err.Error(), "locked") {
			t.Fatalf("round %d: right tx_code after %d wrong ones = %v, want the offer locked (a wrong try was lost)", round, issuer.DefaultMaxTxTries, err)
		}
	}
}

// capture holds back the wallet's direct_post, so the test can fire the
// same response at several replicas itself.
type capture struct {
	base http.RoundTripper
	mu   sync.Mutex
	form url.Values
	path string
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/verifier/response/") {
		return c.base.RoundTrip(r)
	}
	body, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.form, c.path = form, r.URL.Path
	c.mu.Unlock()
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader([]byte("{}"))), Request: r}, nil
}

// Three replicas: the credential is issued through the first, the
// counter's session is made on the second, the one vp_token is posted to
// the second and the third at the same instant (exactly one is accepted,
// the other is a replay), and the first sees the accepted result.
func TestPresentationAcrossReplicas(t *testing.T) {
	t.Parallel()
	a := tongtest.New(t, tongtest.Options{PostgreSQL: true})
	b, c := a.Replica(t), a.Replica(t)
	cap := &capture{base: a.Client().Transport}
	w, err := wallet.Create(t.Context(), filepath.Join(t.TempDir(), "w.db"), []byte("pass"), wallet.Options{
		HTTPClient: &http.Client{Transport: cap}, AllowLoopbackHTTP: true, Registry: a.Registry, RequireRegistry: true, Copies: 8,
		KDF: wallet.KDF{Alg: "argon2id", Time: 1, Memory: 8 << 10, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	o := offer(t, a)
	if _, err := w.Receive(t.Context(), o.OfferURI, o.TxCode); err != nil {
		t.Fatalf("receive: %v", err)
	}
	counter, err := b.Verifier.Authenticate(t.Context(), b.CounterTokens["identity-basic"])
	if err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		sess, err := b.Verifier.CreateSession(t.Context(), counter, verifier.NewRequest{Purpose: "identity-basic"})
		if err != nil {
			t.Fatal(err)
		}
		if err := tongtest.Answer(t, w, sess.RequestURI); err != nil {
			t.Fatalf("round %d: wallet: %v", round, err)
		}
		cap.mu.Lock()
		form, path := cap.form, cap.path
		cap.mu.Unlock()
		if path != "/verifier/response/"+sess.ID {
			t.Fatalf("round %d: the wallet posted to %q, want the session's response_uri", round, path)
		}
		errs := race(
			func() error { _, err := b.Verifier.HandleResponse(context.Background(), sess.ID, form); return err },
			func() error { _, err := c.Verifier.HandleResponse(context.Background(), sess.ID, form); return err },
		)
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case verifier.CodeOf(err) != verifier.CodeReplay:
				t.Errorf("round %d: loser's error = %v, want %s", round, err, verifier.CodeReplay)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d of 2 responses accepted, want exactly 1 (%v)", round, wins, errs)
		}
		got, err := a.Verifier.Session(t.Context(), counter, sess.ID)
		if err != nil || got.Status != verifier.StatusAccepted || got.Result == nil || got.Result.Verdict != verifier.StatusAccepted {
			t.Fatalf("round %d: session seen from the first replica = %+v, %v; want accepted", round, got, err)
		}
	}
}

// A counter's server-sent event stream held by one replica ends with the
// accepted result when the wallet's response is posted to another: the
// replica that completed the session announces it through LISTEN/NOTIFY,
// which the test sees arrive on the streaming replica.
func TestLiveResultAcrossReplicas(t *testing.T) {
	t.Parallel()
	a := tongtest.New(t, tongtest.Options{PostgreSQL: true})
	b, c := a.Replica(t), a.Replica(t)
	w := a.Citizen(t, nil)
	counter, err := b.Verifier.Authenticate(t.Context(), b.CounterTokens["identity-basic"])
	if err != nil {
		t.Fatal(err)
	}
	sess, err := b.Verifier.CreateSession(t.Context(), counter, verifier.NewRequest{Purpose: "identity-basic"})
	if err != nil {
		t.Fatal(err)
	}
	heard, stop := c.DB.Notifier().Subscribe("verifier_session")
	defer stop()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, c.URL+"/verifier/sessions/"+sess.ID+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+c.CounterTokens["identity-basic"])
	resp, err := c.Client().Do(req)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events on the third replica: %v %v", resp, err)
	}
	defer resp.Body.Close()
	events := make(chan string, 4)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- d
			}
		}
	}()
	var first verifier.Session
	if err := json.Unmarshal([]byte(<-events), &first); err != nil || first.Status != verifier.StatusPending {
		t.Fatalf("first event = %+v, %v; want pending", first, err)
	}
	if err := tongtest.Answer(t, w, sess.RequestURI); err != nil {
		t.Fatalf("wallet: %v", err)
	}
	select {
	case id := <-heard:
		if id != sess.ID {
			t.Errorf("notified session %q, want %q", id, sess.ID)
		}
	case <-time.After(30 * time.Second): // a hang guard, not a bound
		t.Fatal("the second replica never announced the completed session")
	}
	var last verifier.Session
	for d := range events {
		if err := json.Unmarshal([]byte(d), &last); err != nil {
			t.Fatal(err)
		}
	}
	if last.Status != verifier.StatusAccepted || last.Result == nil || last.Result.Verdict != verifier.StatusAccepted {
		t.Fatalf("the stream on the third replica ended with %+v, want the accepted result", last)
	}
}

// holdCredential holds back the wallet's credential request, so the test
// can send the same one (access token, proofs, c_nonce) to two replicas.
type holdCredential struct {
	base   http.RoundTripper
	mu     sync.Mutex
	header http.Header
	body   []byte
	path   string
}

func (h *holdCredential) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/credential") {
		return h.base.RoundTrip(r)
	}
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.header, h.body, h.path = r.Header.Clone(), body, r.URL.Path
	h.mu.Unlock()
	return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"error":"server_error"}`)), Request: r}, nil
}

// One credential request (its access token, proofs and c_nonce) sent to
// two replicas at the same instant is answered once: one gets the
// credentials, the other an error, and the offer is issued once.
func TestCredentialRequestRace(t *testing.T) {
	t.Parallel()
	a := tongtest.New(t, tongtest.Options{PostgreSQL: true})
	b := a.Replica(t)
	for round := range 3 {
		hold := &holdCredential{base: a.Client().Transport}
		w, err := wallet.Create(t.Context(), filepath.Join(t.TempDir(), "w.db"), []byte("pass"), wallet.Options{
			HTTPClient: &http.Client{Transport: hold}, AllowLoopbackHTTP: true, Registry: a.Registry, RequireRegistry: true, Copies: 2,
			KDF: wallet.KDF{Alg: "argon2id", Time: 1, Memory: 8 << 10, Threads: 1}})
		if err != nil {
			t.Fatal(err)
		}
		o := offer(t, a)
		if _, err := w.Receive(t.Context(), o.OfferURI, o.TxCode); err == nil {
			t.Fatal("the wallet got a credential the test held back")
		}
		w.Close()
		if hold.body == nil {
			t.Fatal("the wallet sent no credential request")
		}
		send := func(c *tongtest.City) func() error {
			return func() error {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, c.URL+hold.path, bytes.NewReader(hold.body))
				req.Header = hold.header.Clone()
				resp, err := c.Client().Do(req)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK {
					return &statusError{resp.StatusCode, string(body)}
				}
				return nil
			}
		}
		errs := race(send(a), send(b))
		wins := 0
		for _, err := range errs {
			var se *statusError
			switch {
			case err == nil:
				wins++
			case !errors.As(err, &se) || se.status >= 500:
				t.Errorf("round %d: loser = %v, want a 4xx", round, err)
			default:
				t.Logf("round %d: the other replica answered %v", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d of 2 identical credential requests succeeded, want exactly 1 (%v)", round, wins, errs)
		}
	}
}

type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }
