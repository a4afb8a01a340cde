package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/httpx"
)

// This surface answers two kinds of error, each with its one table:
// registry refusals (the operation, log and accreditation routes) and DID
// resolution errors (GET /1.0/identifiers/{did}). Every code each domain
// declares is in its table (TestStatusesCoverEveryCode).

// registryStatuses maps registry codes to HTTP statuses; the code is the
// error name of the JSON error body.
var registryStatuses = map[didregistry.Code]int{
	didregistry.CodeInvalidOperation: http.StatusBadRequest,
	didregistry.CodeTooLarge:         http.StatusRequestEntityTooLarge,
	didregistry.CodeInvalidDID:       http.StatusBadRequest,
	didregistry.CodeInvalidSCID:      http.StatusBadRequest,
	didregistry.CodeInvalidSignature: http.StatusForbidden,
	didregistry.CodeUnauthorized:     http.StatusForbidden,
	didregistry.CodePreRotation:      http.StatusForbidden,
	didregistry.CodeConflict:         http.StatusConflict,
	didregistry.CodeTime:             http.StatusBadRequest,
	didregistry.CodeDeactivated:      http.StatusGone,
	didregistry.CodeNotFound:         http.StatusNotFound,
	didregistry.CodeNotAuthority:     http.StatusForbidden,
	didregistry.CodeExists:           http.StatusConflict,
	didregistry.CodeUnavailable:      http.StatusServiceUnavailable,
	didregistry.CodeNotCanonical:     http.StatusBadRequest,
	didregistry.CodeIssuerURLTaken:   http.StatusConflict,
}

// resolutionStatuses maps DID Resolution error types to the statuses of
// its HTTP(S) binding; the body is a DID resolution result whose
// didResolutionMetadata.error names the type.
var resolutionStatuses = map[did.Code]int{
	did.CodeInvalidDID:                               http.StatusBadRequest,
	did.CodeInvalidDIDDocument:                       http.StatusBadRequest,
	did.CodeNotFound:                                 http.StatusNotFound,
	did.CodeRepresentationNotSupported:               http.StatusBadRequest,
	did.CodeInvalidDIDURL:                            http.StatusBadRequest,
	did.CodeMethodNotSupported:                       http.StatusNotImplemented,
	did.CodeInvalidOptions:                           http.StatusBadRequest,
	did.CodeInternalError:                            http.StatusInternalServerError,
	did.CodeFeatureNotSupported:                      http.StatusBadRequest,
	did.CodeInvalidVerificationMethod:                http.StatusBadRequest,
	did.CodeInvalidRelationshipForVerificationMethod: http.StatusBadRequest,
	// Deactivation is no error type of DID Resolution: it answers 410
	// with didDocumentMetadata "deactivated": true.
	did.CodeDeactivated: http.StatusGone,
}

func writeRegistryError(w http.ResponseWriter, r *http.Request, err error) {
	var e *didregistry.Error
	if errors.As(err, &e) {
		httpx.WriteError(w, r, &httpx.Error{Status: httpx.StatusIn(registryStatuses, e.Code), Code: string(e.Code), Description: e.Description, Err: err})
		return
	}
	httpx.WriteError(w, r, err)
}

// resolutionError answers with a DID resolution result holding the error,
// with the status the HTTP binding gives its type.
func (a *API) resolutionError(w http.ResponseWriter, r *http.Request, err error) {
	var de *did.Error
	if !errors.As(err, &de) {
		httpx.WriteError(w, r, err)
		return
	}
	res := did.Result{ResolutionMetadata: did.ResolutionMetadata{Error: did.ProblemOf(de)}}
	body, _ := json.Marshal(res)
	writeResolution(w, httpx.StatusIn(resolutionStatuses, de.Code), body)
}
