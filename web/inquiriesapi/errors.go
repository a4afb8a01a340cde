package inquiriesapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tongid/tong/internal/httpx"
	"github.com/tongid/tong/services/inquiries"
)

// statuses is this surface's one table from inquiries codes to HTTP
// statuses. Every code the service declares is here
// (TestStatusesCoverEveryCode).
var statuses = map[inquiries.Code]int{
	inquiries.CodeInvalidRequest:   http.StatusBadRequest,
	inquiries.CodeNotFound:         http.StatusNotFound,
	inquiries.CodeTopicClosed:      http.StatusConflict,
	inquiries.CodeProofRequired:    http.StatusBadRequest,
	inquiries.CodeProofNotAllowed:  http.StatusBadRequest,
	inquiries.CodeRateLimited:      http.StatusTooManyRequests,
	inquiries.CodeClosed:           http.StatusConflict,
	inquiries.CodeTooManyMessages:  http.StatusConflict,
	inquiries.CodeConflict:         http.StatusConflict,
	inquiries.CodeNotVerified:      http.StatusConflict,
	inquiries.CodeProofUnavailable: http.StatusBadRequest,
}

// fail maps service errors to statuses; a 5xx never shows its cause.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	var qe *inquiries.Error
	if !errors.As(err, &qe) {
		httpx.WriteError(w, r, err)
		return
	}
	var hdr http.Header
	if qe.Code == inquiries.CodeRateLimited {
		hdr = http.Header{"Retry-After": {"3600"}}
	}
	desc := qe.Description
	if desc == "" {
		desc = strings.ReplaceAll(string(qe.Code), "_", " ")
	}
	httpx.WriteError(w, r, &httpx.Error{Status: httpx.StatusIn(statuses, qe.Code), Code: string(qe.Code), Description: desc, Header: hdr})
}
