package oid4vci

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/tongid/tong/internal/fault/faulttest"
	"github.com/tongid/tong/issuer"
)

// TestStatusesCoverEveryCode: every code the issuer declares has a deliberate
// status, and the table names no code it does not declare. A new code
// fails here until it is given a status.
func TestStatusesCoverEveryCode(t *testing.T) {
	t.Parallel()
	faulttest.CheckTable(t, "../", statuses)
}

// TestFailUsesTheTable: fail answers each code with its status in the
// table and the code as the error name.
func TestFailUsesTheTable(t *testing.T) {
	t.Parallel()
	faulttest.CheckWriter(t, statuses, map[int]string{http.StatusUnauthorized: "WWW-Authenticate"}, func(w http.ResponseWriter, r *http.Request, c issuer.Code) {
		fail(w, r, fmt.Errorf("handler: %w", &issuer.Error{Code: c, Description: "d"}))
	})
}
