// Package httpx is the HTTP plumbing shared by every Tong API: JSON in and
// out with size limits, one error writer, request IDs, panic recovery, access
// logs, metrics, and a server with timeouts and graceful shutdown.
//
// # Errors
//
// Every error response has the OAuth 2.0 shape that OpenID4VCI and OpenID4VP
// also use (RFC 6749 §5.2):
//
//	{"error": "invalid_request", "error_description": "..."}
//
// Protocol handlers turn domain errors into an [*Error], which carries the
// HTTP status. [WriteError] writes it. Any other error is a 500 with code
// server_error and no detail: the cause is logged with the request ID and
// never sent to the client.
package httpx

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/tongid/tong/internal/text"
)

// Stable error codes used by the plumbing itself.
const (
	CodeInvalidRequest       = "invalid_request"
	CodeBodyTooLarge         = "request_too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeServerError          = "server_error"
	CodeUnavailable          = "temporarily_unavailable"
	CodeUnauthorized         = "unauthorized"
	CodeForbidden            = "forbidden"
)

// Error is an error with an HTTP status and a stable machine-readable code.
// Description is shown to the client, so it must not hold secrets; Err is
// the cause, kept for logs only.
type Error struct {
	Status      int
	Code        string
	Description string
	Err         error
	// Header holds extra response headers (WWW-Authenticate, Retry-After).
	Header http.Header
}

// E builds an *Error.
func E(status int, code, description string) *Error {
	return &Error{Status: status, Code: code, Description: description}
}

// Wrap builds an *Error that keeps err as its cause.
func Wrap(status int, code, description string, err error) *Error {
	return &Error{Status: status, Code: code, Description: description, Err: err}
}

func (e *Error) Error() string {
	msg := e.Code
	if e.Description != "" {
		msg += ": " + e.Description
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// retryAfterer is an error that means "busy, try again later", such as
// store.ContendedError when a transaction lost every retry to other
// writers. It becomes a 503 with Retry-After, never a 500.
type retryAfterer interface {
	error
	RetryAfter() time.Duration
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
	RequestID        string `json:"request_id,omitempty"`
}

// WriteError writes err as a JSON error response. An *Error anywhere in
// err's chain gives the status and code; anything else is logged and
// answered with a bare 500 server_error. A 5xx never shows its cause.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var he *Error
	var te *text.Error
	if !errors.As(err, &he) && errors.As(err, &te) {
		he = Wrap(http.StatusBadRequest, string(te.Code), te.Description, err)
	}
	var busy retryAfterer
	if he == nil && errors.As(err, &busy) {
		he = Wrap(http.StatusServiceUnavailable, CodeUnavailable, "the service is busy; try again in a moment", err)
		he.Header = http.Header{"Retry-After": {strconv.Itoa(max(1, int(busy.RetryAfter().Seconds())))}}
	}
	if he == nil || he.Status < 400 || he.Status > 599 {
		he = &Error{Status: http.StatusInternalServerError, Code: CodeServerError, Err: err}
	}
	body := ErrorBody{Error: he.Code, RequestID: RequestID(r.Context())}
	if he.Status >= 500 {
		LoggerFrom(r.Context()).ErrorContext(r.Context(), "request failed",
			slog.Int("status", he.Status), slog.String("code", he.Code), slog.Any("err", err))
	} else {
		body.ErrorDescription = he.Description
	}
	for k, vs := range he.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, r, he.Status, body)
}

// NotFound answers every unknown route with a JSON 404.
func NotFound(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, E(http.StatusNotFound, CodeNotFound, "no such resource"))
}

// MethodNotAllowed answers a known route called with the wrong method.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, E(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method not allowed on this resource"))
}

// StatusIn is code's status in a surface's code-to-status table, or 400
// for a code the table lacks (each surface's test requires every code its
// domain declares to be in its table, so that is a slip, not a design).
func StatusIn[C ~string](table map[C]int, code C) int {
	if s, ok := table[code]; ok {
		return s
	}
	return http.StatusBadRequest
}
