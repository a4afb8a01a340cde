package httpapi

import (
	"errors"
	"net/http"

	"github.com/tongid/tong/internal/httpx"
	"github.com/tongid/tong/verifier"
)

// statuses is this surface's one table from verifier codes to HTTP
// statuses. Every code the verifier declares is here
// (TestStatusesCoverEveryCode). A rejected presentation is a 400 at the
// response endpoint (OpenID4VP 1.0 §8.2); the code is the error name.
var statuses = map[verifier.Code]int{
	// A rejected presentation, in the order of the checks.
	verifier.CodeSessionNotFound:      http.StatusNotFound,
	verifier.CodeSessionExpired:       http.StatusGone,
	verifier.CodeReplay:               http.StatusBadRequest,
	verifier.CodeStateMismatch:        http.StatusBadRequest,
	verifier.CodeWalletError:          http.StatusBadRequest,
	verifier.CodeMalformedResponse:    http.StatusBadRequest,
	verifier.CodeUnexpectedCredential: http.StatusBadRequest,
	verifier.CodeMissingCredential:    http.StatusBadRequest,
	verifier.CodeVCTNotRequested:      http.StatusBadRequest,
	verifier.CodeUntrustedAuthority:   http.StatusBadRequest,
	verifier.CodeIssuerUnknown:        http.StatusBadRequest,
	verifier.CodeIssuerNotAccredited:  http.StatusBadRequest,
	verifier.CodeCredentialRevoked:    http.StatusBadRequest,
	verifier.CodeCredentialSuspended:  http.StatusBadRequest,
	verifier.CodeStatusUnavailable:    http.StatusServiceUnavailable,
	verifier.CodeClaimMissing:         http.StatusBadRequest,
	verifier.CodeClaimValue:           http.StatusBadRequest,
	verifier.CodeTransactionData:      http.StatusBadRequest,
	verifier.CodeRegistryUnavailable:  http.StatusServiceUnavailable,
	// Response encryption and signed requests (HAIP).
	verifier.CodeEncryptionRequired:    http.StatusBadRequest,
	verifier.CodeEncryptionUnsupported: http.StatusBadRequest,
	verifier.CodeDecryptionFailed:      http.StatusBadRequest,
	verifier.CodeNoCertificate:         http.StatusBadRequest,
	// The counter API.
	verifier.CodeUnauthorized:   http.StatusUnauthorized,
	verifier.CodeNotFound:       http.StatusNotFound,
	verifier.CodeInvalidRequest: http.StatusBadRequest,
	verifier.CodeUnknownPurpose: http.StatusBadRequest,
	verifier.CodeInvalidPurpose: http.StatusBadRequest,
	verifier.CodeConflict:       http.StatusBadRequest,
}

// fail writes err: a verifier error with the status of its code (and the
// challenge a 401 needs), anything else through httpx.WriteError.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	var ve *verifier.Error
	if !errors.As(err, &ve) {
		httpx.WriteError(w, r, err)
		return
	}
	var hdr http.Header
	if ve.Code == verifier.CodeUnauthorized {
		hdr = http.Header{"Www-Authenticate": {`Bearer realm="tong-verifier"`}}
	}
	httpx.WriteError(w, r, &httpx.Error{Status: httpx.StatusIn(statuses, ve.Code), Code: string(ve.Code), Description: ve.Description, Err: ve, Header: hdr})
}
