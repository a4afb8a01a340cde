package oid4vci

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/tongid/tong/internal/fault/faulttest"
	"github.com/tongid/tong/internal/httpx"
	"github.com/tongid/tong/issuer"
)

// TestStatusesCoverEveryCode: every code the issuer declares has a
// deliberate status, and the table names no code the issuer does not
// declare. A new issuer code fails here until it is given a status.
func TestStatusesCoverEveryCode(t *testing.T) {
	t.Parallel()
	declared := faulttest.Codes(t, "../", "Code")
	for _, c := range declared {
		s, ok := statuses[issuer.Code(c)]
		if !ok {
			t.Errorf("issuer code %q has no status in statuses", c)
			continue
		}
		if s < 400 || s > 599 {
			t.Errorf("statuses[%q] = %d, want a 4xx or 5xx", c, s)
		}
	}
	for c := range statuses {
		if !slices.Contains(declared, string(c)) {
			t.Errorf("statuses names %q, which the issuer does not declare", c)
		}
	}
}

// TestFailUsesTheTable: fail answers each code with its status in the
// table and the code as the OAuth error name.
func TestFailUsesTheTable(t *testing.T) {
	t.Parallel()
	for c, want := range statuses {
		t.Run(string(c), func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			err := fmt.Errorf("handler: %w", &issuer.Error{Code: c, Description: "d"})
			fail(w, httptest.NewRequest(http.MethodPost, "/token", nil), err)
			var body httpx.ErrorBody
			if jerr := json.Unmarshal(w.Body.Bytes(), &body); jerr != nil {
				t.Fatal(jerr)
			}
			if w.Code != want || body.Error != string(c) {
				t.Errorf("fail(%s) = %d %q, want %d %q", c, w.Code, body.Error, want, c)
			}
			if want == http.StatusUnauthorized && w.Header().Get("Www-Authenticate") == "" {
				t.Errorf("fail(%s) = 401 without WWW-Authenticate", c)
			}
		})
	}
}
