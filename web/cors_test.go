package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestCORS checks that the endpoints a wallet calls answer preflights and
// are readable from another origin, allowing DPoP and Authorization, and
// that nothing else (staff and counter APIs, pages) becomes readable.
func TestCORS(t *testing.T) {
	s := newSite(t)
	const origin = "https://wallet.example"
	public := []struct{ method, path string }{
		{"GET", "/.well-known/openid-credential-issuer/issuers/psb"},
		{"GET", "/.well-known/oauth-authorization-server/issuers/psb"},
		{"GET", "/.well-known/jwt-vc-issuer/issuers/psb"},
		{"GET", "/issuers/psb/offers/no-such-offer"},
		{"POST", "/issuers/psb/token"},
		{"POST", "/issuers/psb/nonce"},
		{"POST", "/issuers/psb/credential"},
		{"POST", "/issuers/psb/deferred_credential"},
		{"POST", "/issuers/psb/notification"},
		{"GET", "/issuers/psb/status/1"},
		{"GET", "/verifier/requests/no-such-request"},
		{"POST", "/verifier/requests/no-such-request"},
		{"POST", "/verifier/response/no-such-response"},
		{"GET", "/1.0/identifiers/" + s.c.PSB.DID},
		{"GET", "/registry/info"},
		{"GET", "/dids/" + s.c.PSB.DID + "/accreditations"},
		{"GET", "/log/checkpoint"},
	}
	private := []struct{ method, path string }{
		{"POST", "/issuers/psb/api/offers"},
		{"GET", "/issuers/psb/api/types"},
		{"GET", "/issuer-api/agency"},
		{"POST", "/verifier/sessions"},
		{"GET", "/verifier/purposes"},
		{"GET", "/agency/"},
		{"POST", "/counter/sessions"},
		{"GET", "/meetings/"},
		{"GET", "/healthz"},
		{"POST", "/registry/operations"},
	}
	do := func(method, path string, hdr map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, s.c.URL+path, strings.NewReader(""))
		req.Header.Set("Origin", origin)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := s.c.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	preflight := func(method, path string) *http.Response {
		return do(http.MethodOptions, path, map[string]string{"Access-Control-Request-Method": method,
			"Access-Control-Request-Headers": "authorization,dpop,content-type"})
	}
	for _, e := range public {
		resp := preflight(e.method, e.path)
		allowHeaders := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(allowHeaders, "dpop") || !strings.Contains(allowHeaders, "authorization") ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), e.method) {
			t.Errorf("preflight %s %s = %d %v, want 204 allowing *, %s, DPoP and Authorization", e.method, e.path, resp.StatusCode, resp.Header, e.method)
		}
		resp = do(e.method, e.path, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("%s %s: Access-Control-Allow-Origin = %q (status %d), want *", e.method, e.path, got, resp.StatusCode)
		}
		if !strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "DPoP-Nonce") {
			t.Errorf("%s %s: Access-Control-Expose-Headers = %q, want DPoP-Nonce among them", e.method, e.path, resp.Header.Get("Access-Control-Expose-Headers"))
		}
	}
	for _, e := range private {
		for _, resp := range []*http.Response{preflight(e.method, e.path), do(e.method, e.path, nil)} {
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("%s %s (%s): Access-Control-Allow-Origin = %q, want none", e.method, e.path, resp.Request.Method, got)
			}
			if resp.Request.Method == http.MethodOptions && resp.StatusCode < 400 {
				t.Errorf("preflight %s %s = %d, want a refusal", e.method, e.path, resp.StatusCode)
			}
		}
	}
}
