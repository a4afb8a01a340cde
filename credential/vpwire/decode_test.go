package vpwire_test

import (
	"testing"

	"github.com/tongid/tong/credential/vpwire"
)

// TestUnmarshalStrict: a member that matches a known name only by case is
// refused (encoding/json alone would read "Nonce" as nonce), unknown
// members are ignored, and presence is reported apart from emptiness.
func TestUnmarshalStrict(t *testing.T) {
	t.Parallel()
	var ro vpwire.RequestObject
	m, err := vpwire.Unmarshal([]byte(`{"nonce":"n1","aud":"","x_unknown":1}`), &ro)
	if err != nil || ro.Nonce != "n1" {
		t.Fatalf("Unmarshal = %+v, %v", ro, err)
	}
	if !m.Has("aud") || !m.Has("x_unknown") || m.Has("redirect_uri") {
		t.Fatalf("members = %v: want aud and x_unknown present, redirect_uri not", m)
	}
	for _, bad := range []string{`{"Nonce":"n1"}`, `{"nonce":"n","RESPONSE_URI":"https://x"}`, `[1]`, `null`, `{`} {
		if _, err := vpwire.Unmarshal([]byte(bad), new(vpwire.RequestObject)); err == nil {
			t.Errorf("Unmarshal(%s) = nil error, want refused", bad)
		}
	}
}
