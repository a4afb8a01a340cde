package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/fault/faulttest"
	"github.com/tongid/tong/internal/httpx"
)

// TestStatusesCoverEveryCode: every code didregistry and did declare has a
// deliberate status in this surface's tables, and the tables name no
// undeclared code. A new code fails here until it is given a status.
func TestStatusesCoverEveryCode(t *testing.T) {
	t.Parallel()
	t.Run("didregistry", func(t *testing.T) { faulttest.CheckTable(t, "..", registryStatuses) })
	t.Run("did", func(t *testing.T) { faulttest.CheckTable(t, "../../did", resolutionStatuses) })
}

// TestErrorsUseTheTables: registry refusals and resolution errors are
// answered with their status in the tables.
func TestErrorsUseTheTables(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for c, want := range registryStatuses {
		w := httptest.NewRecorder()
		writeRegistryError(w, req, fmt.Errorf("publish: %w", &didregistry.Error{Code: c, Description: "d"}))
		var body httpx.ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if w.Code != want || body.Error != string(c) {
			t.Errorf("writeRegistryError(%s) = %d %q, want %d %q", c, w.Code, body.Error, want, c)
		}
	}
	a := &API{}
	for c, want := range resolutionStatuses {
		w := httptest.NewRecorder()
		a.resolutionError(w, req, fmt.Errorf("resolve: %w", &did.Error{Code: c, Description: "d"}))
		var res did.Result
		if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		if w.Code != want || res.ResolutionMetadata.Error == nil || res.ResolutionMetadata.Error.Title != string(c) {
			t.Errorf("resolutionError(%s) = %d %+v, want %d %s", c, w.Code, res.ResolutionMetadata.Error, want, c)
		}
	}
}
