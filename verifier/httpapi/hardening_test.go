package httpapi_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
)

// TestStrayResponseLeavesSessionPending (issue 16, item 8): a direct_post
// whose state is not the session's, or that names no session, is refused
// with a stable code and changes nothing: the counter's session stays
// pending, and the citizen's own answer is still accepted.
func TestStrayResponseLeavesSessionPending(t *testing.T) {
	c := tongtest.New(t, tongtest.Options{})
	s := newSession(t, c, "identity-basic", nil)
	p := params(t, c, s.Session)
	sd, h := issueRaw(t, c, "psb", "citizen-identity")
	vp, err := credential.Present(sd, basicPaths, h, credential.KeyBinding{Nonce: p.Nonce, Audience: p.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	status := func() string {
		var got verifier.Session
		call(t, c, http.MethodGet, "/verifier/sessions/"+s.ID, c.CounterTokens["identity-basic"], nil, &got)
		return got.Status
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"wrong state, good token", url.Values{"state": {"not-the-state"}, "vp_token": {vpToken("pid", vp)}}, 400, "state_mismatch"},
		{"wrong state, garbage", url.Values{"state": {"x"}, "vp_token": {"garbage"}}, 400, "state_mismatch"},
		{"no state", url.Values{"vp_token": {"garbage"}}, 400, "state_mismatch"},
		{"wrong state, wallet error", url.Values{"state": {"x"}, "error": {"access_denied"}}, 400, "state_mismatch"},
	} {
		if st, code := post(t, c, p.ResponseURI, tc.form); st != tc.status || code != tc.code {
			t.Errorf("%s: got %d %q, want %d %q", tc.name, st, code, tc.status, tc.code)
		}
		if got := status(); got != verifier.StatusPending {
			t.Fatalf("%s: the counter's session is %s, want pending", tc.name, got)
		}
	}
	if st, code := post(t, c, c.URL+"/verifier/response/ses_unknown", url.Values{"state": {p.State}, "vp_token": {vpToken("pid", vp)}}); st != 404 || code != "session_not_found" {
		t.Errorf("unknown session: %d %q", st, code)
	}
	if st, code := post(t, c, p.ResponseURI, url.Values{"state": {p.State}, "vp_token": {vpToken("pid", vp)}}); st != 200 {
		t.Fatalf("the citizen's answer after the stray ones: %d %q", st, code)
	}
	if got := status(); got != verifier.StatusAccepted {
		t.Fatalf("session %s, want accepted", got)
	}
}
