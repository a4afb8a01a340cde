package oid4vci

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tongid/tong/internal/httpx"
	"github.com/tongid/tong/issuer"
)

// statuses is this surface's one table from issuer codes to HTTP statuses.
// Every code the issuer declares is here (TestStatusesCoverEveryCode); the
// code itself is the OAuth error name on the wire (RFC 6749 §5.2,
// OpenID4VCI 1.0 §8.3.1.2).
var statuses = map[issuer.Code]int{
	// Token endpoint: RFC 6749 §5.2 answers 400, and OpenID4VCI §6.3 keeps it.
	issuer.CodeInvalidRequest:       http.StatusBadRequest,
	issuer.CodeInvalidGrant:         http.StatusBadRequest,
	issuer.CodeUnsupportedGrantType: http.StatusBadRequest,
	issuer.CodeInvalidDPoPProof:     http.StatusBadRequest,
	// Authorization code flow (pushed authorization request, authorize).
	issuer.CodeAccessDenied:       http.StatusBadRequest,
	issuer.CodeInvalidClient:      http.StatusBadRequest,
	issuer.CodeInvalidRequestURI:  http.StatusBadRequest,
	issuer.CodeAuthenticationWait: http.StatusBadRequest,
	issuer.CodeSessionMismatch:    http.StatusForbidden,
	// Credential, deferred and notification endpoints (OpenID4VCI §8.3.1.2:
	// 400, except invalid_token, which RFC 6750 §3.1 answers 401).
	issuer.CodeInvalidToken:                   http.StatusUnauthorized,
	issuer.CodeInvalidCredentialRequest:       http.StatusBadRequest,
	issuer.CodeUnknownCredentialConfiguration: http.StatusBadRequest,
	issuer.CodeUnknownCredentialIdentifier:    http.StatusBadRequest,
	issuer.CodeInvalidProof:                   http.StatusBadRequest,
	issuer.CodeInvalidNonce:                   http.StatusBadRequest,
	issuer.CodeCredentialRequestDenied:        http.StatusBadRequest,
	issuer.CodeInvalidTransactionID:           http.StatusBadRequest,
	issuer.CodeInvalidNotificationID:          http.StatusBadRequest,
	issuer.CodeInvalidNotificationRequest:     http.StatusBadRequest,
	// Staff API.
	issuer.CodeUnauthorized:  http.StatusUnauthorized,
	issuer.CodeNotFound:      http.StatusNotFound,
	issuer.CodeInvalidClaims: http.StatusBadRequest,
	issuer.CodeInvalidType:   http.StatusBadRequest,
	issuer.CodeUnknownType:   http.StatusBadRequest,
	issuer.CodeConflict:      http.StatusConflict,
	issuer.CodeVCTTaken:      http.StatusConflict,
}

// fail writes err: an issuer error with the status of its code and the
// challenge a 401 needs, anything else through httpx.WriteError.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	var ie *issuer.Error
	if !errors.As(err, &ie) {
		httpx.WriteError(w, r, err)
		return
	}
	var hdr http.Header
	switch ie.Code {
	case issuer.CodeInvalidToken:
		scheme := "Bearer"
		if strings.HasPrefix(r.Header.Get("Authorization"), "DPoP ") {
			scheme = "DPoP"
		}
		hdr = http.Header{"Www-Authenticate": {fmt.Sprintf(`%s error="invalid_token", error_description=%q`, scheme, ie.Description)}}
	case issuer.CodeUnauthorized:
		hdr = http.Header{"Www-Authenticate": {`Bearer realm="tong-issuer"`}}
	}
	httpx.WriteError(w, r, &httpx.Error{Status: httpx.StatusIn(statuses, ie.Code), Code: string(ie.Code), Description: ie.Description, Err: ie, Header: hdr})
}
