package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/tongid/tong/tongtest"
)

// TestRequestObjectIssuer: the request object's iss is the verifier's DID,
// the DID that its kid is a key of, and never the prefixed client_id
// (independent wallets built on JAR libraries refuse a kid DID that
// differs from iss; issue 18).
func TestRequestObjectIssuer(t *testing.T) {
	c := tongtest.New(t, tongtest.Options{})
	s := newSession(t, c, "identity-basic", nil)
	u, err := url.Parse(s.RequestURI)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Client().Get(u.Query().Get("request_uri"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	parts := strings.Split(string(raw), ".")
	if len(parts) != 3 {
		t.Fatalf("request object %q is not a compact JWS", raw)
	}
	var hdr struct{ Kid string }
	var claims struct {
		Iss      string `json:"iss"`
		ClientID string `json:"client_id"`
	}
	for i, v := range []any{&hdr, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, v) != nil {
			t.Fatalf("part %d does not decode", i)
		}
	}
	if claims.Iss != c.HallDID {
		t.Errorf("iss = %q, want the verifier's DID %q", claims.Iss, c.HallDID)
	}
	if !strings.HasPrefix(hdr.Kid, claims.Iss+"#") {
		t.Errorf("kid %q is not a key of iss %q", hdr.Kid, claims.Iss)
	}
	if claims.ClientID != "decentralized_identifier:"+c.HallDID {
		t.Errorf("client_id = %q, want the prefixed DID", claims.ClientID)
	}
}
