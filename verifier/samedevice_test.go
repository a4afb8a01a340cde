package verifier_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/verifier"
)

// TestSameDeviceRedirect: a same-device session's accepted answer gives
// the wallet a redirect_uri with a fresh response_code (OpenID4VP 1.0
// §8.2): to the counter's done page, or to the caller's RedirectURI with
// its own query kept. Only the result's hash of the code is kept, and
// ResponseCodeMatches accepts that code alone. A RedirectURI needs
// SameDevice and an https (here loopback) URL.
func TestSameDeviceRedirect(t *testing.T) {
	t.Parallel()
	c, _ := newCity(t)
	ctr := counter(t, c, "identity-basic")
	for _, nr := range []verifier.NewRequest{
		{Purpose: "identity-basic", RedirectURI: "http://127.0.0.1/back"},
		{Purpose: "identity-basic", SameDevice: true, RedirectURI: "ftp://127.0.0.1/back"},
		{Purpose: "identity-basic", SameDevice: true, RedirectURI: "/back"},
	} {
		if _, err := c.Verifier.CreateSession(t.Context(), ctr, nr); verifier.CodeOf(err) != verifier.CodeInvalidRequest {
			t.Errorf("CreateSession(same_device %v, %q) = %v, want %s", nr.SameDevice, nr.RedirectURI, err, verifier.CodeInvalidRequest)
		}
	}
	cred := issue(t, c, "psb", "citizen-identity", nil)
	for _, tc := range []struct {
		name, redirect, wantPrefix string
	}{
		{"counter", "", c.URL + "/counter/done?session="},
		{"caller", "http://127.0.0.1:9/back?x=1", "http://127.0.0.1:9/back?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess, req := session(t, c, "identity-basic", verifier.NewRequest{SameDevice: true, RedirectURI: tc.redirect})
			vp := present(t, cred, identityPaths, credential.KeyBinding{Nonce: req.Nonce, Audience: req.ClientID})
			ans, err := c.Verifier.HandleResponse(t.Context(), sess.ID, url.Values{"state": {req.State}, "vp_token": {vpToken("pid", vp)}})
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(ans.RedirectURI)
			if err != nil || !strings.HasPrefix(ans.RedirectURI, tc.wantPrefix) || len(u.Query().Get("response_code")) < 22 {
				t.Fatalf("redirect_uri = %q, want %s… with a response_code", ans.RedirectURI, tc.wantPrefix)
			}
			if tc.redirect != "" && u.Query().Get("x") != "1" {
				t.Errorf("redirect_uri = %q lost the caller's query", ans.RedirectURI)
			}
			code := u.Query().Get("response_code")
			got, err := c.Verifier.Session(t.Context(), ctr, sess.ID)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(got.Result.ResponseCodeSHA256, code) || !got.Result.ResponseCodeMatches(code) {
				t.Errorf("result keeps %q; ResponseCodeMatches(the code) = %v, want the hash only and true", got.Result.ResponseCodeSHA256, got.Result.ResponseCodeMatches(code))
			}
			for _, wrong := range []string{"", code[1:], code + "A", strings.Repeat("A", len(code))} {
				if got.Result.ResponseCodeMatches(wrong) {
					t.Errorf("ResponseCodeMatches(%q) = true, want false", wrong)
				}
			}
		})
	}
	// A cross-device session's result has no response code.
	sess, req := session(t, c, "identity-basic", verifier.NewRequest{})
	vp := present(t, cred, identityPaths, credential.KeyBinding{Nonce: req.Nonce, Audience: req.ClientID})
	if ans, err := c.Verifier.HandleResponse(t.Context(), sess.ID, url.Values{"state": {req.State}, "vp_token": {vpToken("pid", vp)}}); err != nil || ans.RedirectURI != "" {
		t.Fatalf("cross-device answer %+v, %v, want no redirect_uri", ans, err)
	}
	if got, _ := c.Verifier.Session(t.Context(), ctr, sess.ID); got.Result.ResponseCodeSHA256 != "" || got.Result.ResponseCodeMatches("") {
		t.Errorf("cross-device result %+v has a response code", got.Result)
	}
}
