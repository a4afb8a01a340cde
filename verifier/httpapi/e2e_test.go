package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
	"github.com/tongid/tong/verifier/httpapi"
	"github.com/tongid/tong/wallet"
)

var fastKDF = wallet.KDF{Alg: "argon2id", Time: 1, Memory: 8 << 10, Threads: 1}

// citizen is a wallet in a city, holding a citizen identity and a
// residence credential.
func citizen(t testing.TB, c *tongtest.City) *wallet.Wallet {
	t.Helper()
	w, err := wallet.Create(context.Background(), filepath.Join(t.TempDir(), "w.db"), []byte("pass"), wallet.Options{
		HTTPClient: c.Client(), AllowLoopbackHTTP: true, Registry: c.Registry, RequireRegistry: true, Copies: 5, KDF: fastKDF})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	types, _ := issuer.DemoTypes()
	for _, x := range []struct{ agency, typ string }{{"psb", "citizen-identity"}, {"housing", "beijing-residence"}} {
		o, err := c.Issuer.CreateOffer(context.Background(), x.agency, "test", issuer.OfferRequest{Type: x.typ, Claims: types[x.typ].ExampleClaims})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Receive(context.Background(), o.OfferURI, o.TxCode); err != nil {
			t.Fatalf("receive %s: %v", x.typ, err)
		}
	}
	return w
}

// call makes a counter API call.
func call(t testing.TB, c *tongtest.City, method, path, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode
}

func newSession(t testing.TB, c *tongtest.City, purpose string, td map[string]any) *httpapi.SessionResponse {
	t.Helper()
	var s httpapi.SessionResponse
	if st := call(t, c, http.MethodPost, "/verifier/sessions", c.CounterTokens[purpose], verifier.NewRequest{Purpose: purpose, TransactionData: td}, &s); st != 201 || s.Session == nil {
		t.Fatalf("create session %s: %d", purpose, st)
	}
	return &s
}

func approve(context.Context, *wallet.ConsentRequest) (wallet.Decision, error) {
	return wallet.Decision{Approve: true}, nil
}

// TestEndToEndEveryPurpose: our issuer, then our wallet, then our
// verifier, for each purpose, over loopback.
func TestEndToEndEveryPurpose(t *testing.T) {
	c := tongtest.New(t, tongtest.Options{})
	w := citizen(t, c)
	payment := map[string]any{"amount": "120.00", "currency": "CNY", "payee": "Dongcheng District Government Service Hall", "order_id": "ord-2026-0001"}
	for _, tc := range []struct {
		purpose string
		td      map[string]any
		check   func(t *testing.T, r *verifier.Result)
	}{
		{"identity-basic", nil, func(t *testing.T, r *verifier.Result) {
			cl := r.Credentials[0].Claims
			if cl["family_name"] != "王" || cl["given_name"] != "小明" || cl["age_equal_or_over"].(map[string]any)["18"] != true {
				t.Errorf("claims %v", cl)
			}
		}},
		{"pay-fee", payment, func(t *testing.T, r *verifier.Result) {
			p := r.Credentials[0]
			if p.Claims["personal_administrative_number"] != "110101199005170034" || len(p.TransactionData) != 1 || p.TransactionData[0]["amount"] != "120.00" {
				t.Errorf("pay-fee result %+v", p)
			}
		}},
		{"meeting-booking", nil, func(t *testing.T, r *verifier.Result) {
			if len(r.Credentials) != 2 {
				t.Fatalf("%d credentials", len(r.Credentials))
			}
			var locality any
			for _, p := range r.Credentials {
				if p.QueryID == "residence" {
					locality = p.Claims["address"].(map[string]any)["locality"]
					if _, extra := p.Claims["address"].(map[string]any)["street_address"]; extra {
						t.Error("street_address was stored without being asked")
					}
				}
			}
			if locality != "北京市" {
				t.Errorf("locality %v", locality)
			}
		}},
		{"meeting-checkin", nil, func(t *testing.T, r *verifier.Result) {
			if r.Credentials[0].Claims["family_name"] != "王" {
				t.Errorf("claims %v", r.Credentials[0].Claims)
			}
		}},
	} {
		t.Run(tc.purpose, func(t *testing.T) {
			s := newSession(t, c, tc.purpose, tc.td)
			req, err := w.Match(t.Context(), s.RequestURI)
			if err != nil {
				t.Fatal(err)
			}
			if !req.Verified || req.Purpose != tc.purpose {
				t.Fatalf("the wallet did not verify the counter: %+v", req)
			}
			if _, err := w.Present(t.Context(), req, approve); err != nil {
				t.Fatal(err)
			}
			var got verifier.Session
			if st := call(t, c, http.MethodGet, "/verifier/sessions/"+s.ID+"?wait=5s", c.CounterTokens[tc.purpose], nil, &got); st != 200 {
				t.Fatalf("session: %d", st)
			}
			if got.Status != verifier.StatusAccepted || got.Result == nil || got.Result.Verdict != verifier.StatusAccepted {
				t.Fatalf("result %+v", got.Result)
			}
			for _, ch := range got.Result.Checks {
				if !ch.OK {
					t.Errorf("check %s failed in an accepted result", ch.Name)
				}
			}
			names := map[string]bool{}
			for _, ch := range got.Result.Checks {
				names[ch.Name] = true
			}
			for _, want := range []string{"signature", "accreditation", "status", "key_binding", "claims"} {
				if !names[want] {
					t.Errorf("no %s check in %v", want, got.Result.Checks)
				}
			}
			tc.check(t, got.Result)
		})
	}
}

// TestEventsStream: the counter page gets the result over server-sent
// events as soon as the wallet answers.
func TestEventsStream(t *testing.T) {
	c := tongtest.New(t, tongtest.Options{})
	w := citizen(t, c)
	s := newSession(t, c, "identity-basic", nil)
	req, _ := http.NewRequest(http.MethodGet, c.URL+"/verifier/sessions/"+s.ID+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+c.CounterTokens["identity-basic"])
	resp, err := c.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		r, err := w.Match(context.Background(), s.RequestURI)
		if err == nil {
			_, _ = w.Present(context.Background(), r, approve)
		}
	}()
	body, _ := io.ReadAll(resp.Body) // the stream ends after the result
	events := strings.Count(string(body), "event: status")
	if events != 2 || !strings.Contains(string(body), `"verdict":"accepted"`) {
		t.Fatalf("stream:\n%s", body)
	}
}
