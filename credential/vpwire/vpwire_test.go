package vpwire_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tongid/tong/credential/dcql"
	"github.com/tongid/tong/credential/vpwire"
)

// vector is one file of testdata: a spec example with its section
// (spec:) and the type it is (expect:).
type vector struct {
	name, spec, expect string
	body               []byte
}

func readVectors(t *testing.T) []vector {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test vectors in testdata (%v)", err)
	}
	var vs []vector
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		head, body, ok := bytes.Cut(b, []byte("\n\n"))
		if !ok {
			t.Fatalf("%s: no blank line after the header", f)
		}
		v := vector{name: filepath.Base(f), body: body}
		for _, line := range strings.Split(string(head), "\n") {
			k, val, _ := strings.Cut(line, ": ")
			switch k {
			case "spec":
				v.spec = val
			case "expect":
				v.expect = val
			}
		}
		if v.spec == "" || v.expect == "" {
			t.Fatalf("%s: header needs spec: and expect:", f)
		}
		vs = append(vs, v)
	}
	return vs
}

// TestSpecExamplesRoundTrip decodes each example of the spec into its
// type, refusing members the type does not declare, encodes it again, and
// wants the same JSON: every member of the spec's examples has its field,
// under the spec's name.
func TestSpecExamplesRoundTrip(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, v := range readVectors(t) {
		seen[v.expect] = true
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			var typed any
			switch v.expect {
			case "request_object":
				typed = new(vpwire.RequestObject)
			case "client_metadata":
				typed = new(vpwire.ClientMetadata)
			case "vp_token":
				typed = new(vpwire.VPToken)
			case "response":
				typed = new(vpwire.Response)
			case "response_answer":
				typed = new(vpwire.ResponseAnswer)
			default:
				t.Fatalf("unknown expect: %q", v.expect)
			}
			dec := json.NewDecoder(bytes.NewReader(v.body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(typed); err != nil {
				t.Fatalf("decoding %s (%s): %v", v.expect, v.spec, err)
			}
			out, err := json.Marshal(typed)
			if err != nil {
				t.Fatal(err)
			}
			var want, got any
			if err := json.Unmarshal(v.body, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: round trip (-spec +ours):\n%s", v.spec, diff)
			}
			if ro, ok := typed.(*vpwire.RequestObject); ok {
				if _, err := dcql.Parse(ro.DCQLQuery); err != nil {
					t.Errorf("%s: dcql.Parse(dcql_query) = %v", v.spec, err)
				}
			}
		})
	}
	for _, kind := range []string{"request_object", "client_metadata", "vp_token", "response", "response_answer"} {
		if !seen[kind] {
			t.Errorf("no vector with expect: %s", kind)
		}
	}
}

// TestRequestObjectMembers pins the Go fields to the spec's member names
// on one value with every member set.
func TestRequestObjectMembers(t *testing.T) {
	t.Parallel()
	ro := vpwire.RequestObject{
		Issuer: "did:example:123", Audience: vpwire.SelfIssuedAudience, IssuedAt: 1700000000, Expiry: 1700000600,
		ClientID: "decentralized_identifier:did:example:123", ResponseType: vpwire.ResponseTypeVPToken,
		ResponseMode: vpwire.ResponseModeDirectPostJWT, ResponseURI: "https://client.example.org/post",
		RedirectURI: "https://client.example.org/cb", Nonce: "n-0S6_WzA2Mj", State: "eyJhb",
		DCQLQuery: json.RawMessage(`{"credentials":[]}`),
		ClientMetadata: &vpwire.ClientMetadata{
			ClientName:                          "Town Hall",
			JWKS:                                &vpwire.JWKS{Keys: []json.RawMessage{json.RawMessage(`{"kty":"EC","kid":"ac"}`)}},
			EncryptedResponseEncValuesSupported: []string{"A128GCM", "A256GCM"},
			VPFormatsSupported:                  map[string]vpwire.VPFormat{vpwire.FormatSDJWTVC: {SDJWTAlgValues: []string{"ES256"}, KBJWTAlgValues: []string{"ES256"}}},
		},
		TransactionData: []string{"eyJ0eXBlIjoieCJ9"}, WalletNonce: "qPmxiNFCR3QTm19POc8u", Purpose: "pay-fee",
	}
	b, err := json.Marshal(ro)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := []string{"iss", "aud", "iat", "exp", "client_id", "response_type", "response_mode", "response_uri",
		"redirect_uri", "nonce", "state", "dcql_query", "client_metadata", "transaction_data", "wallet_nonce", vpwire.PurposeClaim}
	if len(got) != len(want) {
		t.Errorf("json.Marshal(RequestObject) has %d members, want %d: %s", len(got), len(want), b)
	}
	for _, k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("json.Marshal(RequestObject) has no %q: %s", k, b)
		}
	}
	cm, _ := got["client_metadata"].(map[string]any)
	for _, k := range []string{"client_name", "jwks", "encrypted_response_enc_values_supported", "vp_formats_supported"} {
		if _, ok := cm[k]; !ok {
			t.Errorf("client_metadata has no %q: %s", k, b)
		}
	}
	if got["iat"] != float64(1700000000) || !bytes.Contains(b, []byte(`"iat":1700000000,`)) {
		t.Errorf("iat = %v, want the integer 1700000000 in %s", got["iat"], b)
	}
}

// TestAuthorizationRequestURI: the request by reference of §8.2's example.
func TestAuthorizationRequestURI(t *testing.T) {
	t.Parallel()
	// Spec: OpenID4VP 1.0 §8.2 (#response_mode_post): "https://wallet.example.com?
	// client_id=https%3A%2F%2Fclient.example.org%2Fcb
	// &request_uri=https%3A%2F%2Fclient.example.org%2F567545564"
	const want = "https://wallet.example.com?client_id=https%3A%2F%2Fclient.example.org%2Fcb&request_uri=https%3A%2F%2Fclient.example.org%2F567545564"
	ar := vpwire.AuthorizationRequest{ClientID: "https://client.example.org/cb", RequestURI: "https://client.example.org/567545564"}
	if got := ar.URI("https://wallet.example.com"); got != want {
		t.Errorf("URI() = %q, want %q", got, want)
	}
	u, err := url.Parse(want + "&request_uri_method=post")
	if err != nil {
		t.Fatal(err)
	}
	ar.RequestURIMethod = vpwire.RequestURIMethodPost
	if got := vpwire.ParseAuthorizationRequest(u.Query()); got != ar {
		t.Errorf("ParseAuthorizationRequest(%q) = %+v, want %+v", u.RawQuery, got, ar)
	}
}

// TestResponseForms: the direct_post bodies of §8.2's examples.
func TestResponseForms(t *testing.T) {
	t.Parallel()
	// Spec: §8.2: "vp_token=...& state=eyJhb...6-sVA"; vp_token is the
	// JSON-encoded object of §8.1.
	form, err := vpwire.Response{VPToken: vpwire.VPToken{"my_credential": {"eyJhbGci...QMA"}}, State: "eyJhb...6-sVA"}.Form()
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{"vp_token": {`{"my_credential":["eyJhbGci...QMA"]}`}, "state": {"eyJhb...6-sVA"}}
	if diff := cmp.Diff(want, form); diff != "" {
		t.Errorf("Response.Form() (-want +got):\n%s", diff)
	}
	// Spec: §8.2: "error=invalid_request&
	// error_description=unsupported%20client_id_prefix& state=eyJhb...6-sVA"
	spec, err := url.ParseQuery("error=invalid_request&error_description=unsupported%20client_id_prefix&state=eyJhb...6-sVA")
	if err != nil {
		t.Fatal(err)
	}
	got := vpwire.ErrorResponse{Error: "invalid_request", ErrorDescription: "unsupported client_id_prefix", State: "eyJhb...6-sVA"}.Form()
	if diff := cmp.Diff(spec, got); diff != "" {
		t.Errorf("ErrorResponse.Form() (-spec +got):\n%s", diff)
	}
	if got := (vpwire.ErrorResponse{Error: "access_denied"}).Form(); len(got) != 1 || got.Get("error") != "access_denied" {
		t.Errorf("ErrorResponse{access_denied}.Form() = %v, want only error", got)
	}
}
