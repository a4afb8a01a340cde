package tongtest_test

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/internal/ids"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/tongtest"
)

// One DPoP proof (RFC 9449) sent with two different token requests, one
// to each replica at the same instant, many times: its jti is spent once
// across replicas, so exactly one request is answered and the other gets
// invalid_dpop_proof. Each request redeems its own pre-authorized code,
// so only the jti can make one of them lose; the loser's code, spent by
// nothing, still redeems with a fresh proof.
func TestDPoPJTIRace(t *testing.T) {
	t.Parallel()
	a := tongtest.New(t, tongtest.Options{PostgreSQL: true})
	b := a.Replica(t)
	key, err := keys.Generate(rand.Reader, keys.ES256)
	if err != nil {
		t.Fatal(err)
	}
	tokenURL := a.PSB.IssuerURL + "/token" // the htu both replicas check
	onB := strings.Replace(tokenURL, a.URL, b.URL, 1)
	const rounds = 30
	for round := range rounds {
		proof := dpopProof(t, key, tokenURL)
		oa, ob := offer(t, a), offer(t, a)
		codes := []struct {
			url string
			o   *issuer.Offer
		}{{tokenURL, oa}, {onB, ob}}
		statuses := make([]int, 2)
		bodies := make([]map[string]any, 2)
		errs := race(
			func() error {
				var err error
				statuses[0], bodies[0], err = redeem(a, codes[0].url, codes[0].o, proof)
				return err
			},
			func() error {
				var err error
				statuses[1], bodies[1], err = redeem(b, codes[1].url, codes[1].o, proof)
				return err
			},
		)
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		wins := 0
		for i, st := range statuses {
			switch {
			case st == http.StatusOK:
				wins++
			case st != http.StatusBadRequest || bodies[i]["error"] != string(issuer.CodeInvalidDPoPProof):
				t.Fatalf("round %d: loser = %d %v, want 400 %s", round, st, bodies[i], issuer.CodeInvalidDPoPProof)
			default:
				c := []*tongtest.City{a, b}[i]
				if st, body, err := redeem(c, codes[i].url, codes[i].o, dpopProof(t, key, tokenURL)); err != nil || st != http.StatusOK {
					t.Fatalf("round %d: the loser's code with a fresh proof = %d %v %v, want 200", round, st, body, err)
				}
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d of 2 token requests with one DPoP proof succeeded, want exactly 1 (statuses %v)", round, wins, statuses)
		}
	}
}

func dpopProof(t *testing.T, key *keys.Signer, htu string) string {
	t.Helper()
	jwk, _ := jose.PublicJWK(key.Public())
	h, _ := json.Marshal(map[string]any{"alg": key.Alg(), "typ": issuer.TypDPoP, "jwk": jwk})
	p, _ := json.Marshal(map[string]any{"jti": ids.Random(16), "htm": http.MethodPost, "htu": htu, "iat": time.Now().Unix()})
	jws, err := jose.SignRaw(key, h, p)
	if err != nil {
		t.Fatal(err)
	}
	return jws
}

// redeem posts the offer's pre-authorized code and tx_code to a token
// endpoint with the DPoP proof.
func redeem(c *tongtest.City, tokenURL string, o *issuer.Offer, proof string) (int, map[string]any, error) {
	form := url.Values{"grant_type": {issuer.GrantPreAuthorizedCode}, "pre-authorized_code": {o.PreAuthorizedCode}, "tx_code": {o.TxCode}}
	req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("DPoP", proof)
	resp, err := c.Client().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	return resp.StatusCode, body, nil
}
