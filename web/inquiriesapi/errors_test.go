package inquiriesapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/tongid/tong/internal/fault/faulttest"
	"github.com/tongid/tong/internal/httpx"
	"github.com/tongid/tong/services/inquiries"
)

// TestStatusesCoverEveryCode: every code services/inquiries declares has a
// deliberate status, and the table names no code the service does not
// declare. A new inquiries code fails here until it is given a status.
func TestStatusesCoverEveryCode(t *testing.T) {
	t.Parallel()
	declared := faulttest.Codes(t, "../../services/inquiries", "Code")
	for _, c := range declared {
		s, ok := statuses[inquiries.Code(c)]
		if !ok {
			t.Errorf("inquiries code %q has no status in statuses", c)
			continue
		}
		if s < 400 || s > 599 {
			t.Errorf("statuses[%q] = %d, want a 4xx or 5xx", c, s)
		}
	}
	for c := range statuses {
		if !slices.Contains(declared, string(c)) {
			t.Errorf("statuses names %q, which the service does not declare", c)
		}
	}
}

// TestFailUsesTheTable: fail answers each code with its status in the
// table and the code as the error name.
func TestFailUsesTheTable(t *testing.T) {
	t.Parallel()
	for c, want := range statuses {
		t.Run(string(c), func(t *testing.T) {
			t.Parallel()
			w := httptest.NewRecorder()
			err := fmt.Errorf("handler: %w", &inquiries.Error{Code: c, Description: "d"})
			fail(w, httptest.NewRequest(http.MethodPost, "/inquiries-api/topics", nil), err)
			var body httpx.ErrorBody
			if jerr := json.Unmarshal(w.Body.Bytes(), &body); jerr != nil {
				t.Fatal(jerr)
			}
			if w.Code != want || body.Error != string(c) {
				t.Errorf("fail(%s) = %d %q, want %d %q", c, w.Code, body.Error, want, c)
			}
			if want == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
				t.Errorf("fail(%s) = 429 without Retry-After", c)
			}
		})
	}
}
