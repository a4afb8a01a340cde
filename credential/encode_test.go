package credential

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
)

// The issuance encoder must write what json.Marshal writes, so that what
// we sign is what any JSON library would produce from the same claims.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	strs := []string{
		"", "plain", "王芳", `quote " and \ backslash`, "<script>&amp;</script>",
		"\x00\x01\b\f\n\r\t\x1f\x7f", "line\u2028sep\u2029", "bad utf8 \xff\xfe end", "\xc3", "emoji 👩‍💻",
	}
	values := []any{nil, true, false, 0, -1, 42, int64(math.MaxInt64), int32(-7), uint64(math.MaxUint64), uint32(9),
		0.0, math.Copysign(0, -1), 1.5, -2.25, 1e20, 1e21, 1e-6, 1e-7, 123456789.125, 3.0,
		json.Number("12.50"), []string{"a", "b"}, struct {
			A string `json:"a"`
		}{"x"}}
	for _, s := range strs {
		values = append(values, s)
	}
	for _, v := range values {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendScalar([]byte("prefix"), v)
		if err != nil || string(got) != "prefix"+string(want) {
			t.Errorf("appendScalar(%#v) = %s, %v; want %s", v, got, err, want)
		}
	}
	if _, err := appendScalar(nil, math.NaN()); err == nil {
		t.Error("NaN encoded without an error")
	}

	// With nothing disclosable, the payload is json.Marshal of the claims
	// plus _sd_alg, key order included.
	claims := map[string]any{"z": 1, "a": map[string]any{"y": []any{"b", 2.5, nil}, "x": strs[4]}, "Z": strs[7], "_x": false}
	for _, s := range strs {
		claims["k"+s] = s
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tok, err := IssueSDJWT(key, map[string]any{"alg": "ES256", "typ": TypSDJWTVC, "kid": "k<1>"}, claims, nil, IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(strings.TrimSuffix(tok, "~"), ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	claims["_sd_alg"] = HashAlg
	if want, _ := json.Marshal(claims); !bytes.Equal(payload, want) {
		t.Errorf("payload\n%s\nwant\n%s", payload, want)
	}
	if want, _ := json.Marshal(map[string]any{"alg": "ES256", "typ": TypSDJWTVC, "kid": "k<1>"}); !bytes.Equal(header, want) {
		t.Errorf("header %s, want %s", header, want)
	}
}

// Issuances share pooled buffers; concurrent ones must never mix their
// claims or disclosures.
func TestIssueConcurrentlyKeepsCredentialsApart(t *testing.T) {
	f := newFixture(t)
	v := &Verifier{Keys: StaticIssuerKeys{testIssuer: &f.issuer.PublicKey}}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				claims := citizenClaims()
				name := fmt.Sprintf("name-%d-%d", g, i)
				claims["given_name"] = name
				claims["address"].(map[string]any)["locality"] = strings.Repeat("x", g*i) // sizes vary
				tok, err := IssueVC(f.issuer, VC{Issuer: testIssuer, VCT: "v", Claims: claims, Disclosable: citizenSD}, IssueOptions{})
				if err != nil {
					errs <- err
					return
				}
				res, err := v.Verify(context.Background(), tok, VerifyOptions{})
				if err != nil {
					errs <- err
					return
				}
				if res.Claims["given_name"] != name || len(res.Disclosed) != 12 {
					errs <- fmt.Errorf("credential %s came back with %v and %d disclosures", name, res.Claims["given_name"], len(res.Disclosed))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
