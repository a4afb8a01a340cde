package verifier

import (
	"encoding/json"
	"os"
	"testing"
)

// TestDecryptResponseSpecVector decrypts OpenID4VP 1.0's example
// encrypted response with the private key the spec gives.
func TestDecryptResponseSpecVector(t *testing.T) {
	raw, err := os.ReadFile("testdata/openid4vp-1.0-encrypted-response.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Expect   string `json:"expect"`
		Kid      string `json:"kid"`
		JWK      struct{ D string }
		Response string          `json:"response"`
		VPToken  json.RawMessage `json:"vp_token"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.Expect != "success" {
		t.Fatalf("vector: %v (expect %q)", err, v.Expect)
	}
	form, err := decryptResponse(v.Response, v.JWK.D, v.Kid)
	if err != nil {
		t.Fatalf("decryptResponse(spec example) = %v", err)
	}
	var got, want any
	if err := json.Unmarshal([]byte(form.Get("vp_token")), &got); err != nil {
		t.Fatalf("vp_token %q is not JSON", form.Get("vp_token"))
	}
	json.Unmarshal(v.VPToken, &want)
	if gb, _ := json.Marshal(got); string(gb) != string(must(json.Marshal(want))) {
		t.Errorf("vp_token = %s, want %s", gb, v.VPToken)
	}
	// The same vector under another session's kid is refused.
	if _, err := decryptResponse(v.Response, v.JWK.D, "other"); CodeOf(err) != CodeDecryptionFailed {
		t.Errorf("decryptResponse with another kid = %v, want %s", err, CodeDecryptionFailed)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
