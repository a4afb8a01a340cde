package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
)

// DefaultMaxBody is the largest request body ReadJSON accepts unless the
// caller sets its own limit with ReadJSONLimit.
const DefaultMaxBody = 1 << 20 // 1 MiB

// ReadJSON decodes the request body into v, at most DefaultMaxBody bytes.
// See ReadJSONLimit.
func ReadJSON(w http.ResponseWriter, r *http.Request, v any) error {
	return ReadJSONLimit(w, r, DefaultMaxBody, v)
}

// ReadJSONLimit decodes one JSON value of at most limit bytes into v. It
// answers with an *Error: 415 when the content type is not JSON, 413 when
// the body is too large, and 400 invalid_request when it is not one JSON
// value of the expected shape. Unknown object members are ignored, as the
// OAuth family of specs requires of recipients.
func ReadJSONLimit(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !(len(mt) > 5 && mt[len(mt)-5:] == "+json")) {
			return E(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "content type must be application/json")
		}
	}
	body, err := ReadBody(w, r, limit)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return Wrap(http.StatusBadRequest, CodeInvalidRequest, describeJSONError(err), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return E(http.StatusBadRequest, CodeInvalidRequest, "body holds more than one JSON value")
	}
	return nil
}

// ReadBody reads the whole body, at most limit bytes, answering 413 with a
// JSON error (through the returned *Error) when it is larger.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(limit)
		}
		return nil, Wrap(http.StatusBadRequest, CodeInvalidRequest, "could not read the request body", err)
	}
	return body, nil
}

// ParseForm parses an application/x-www-form-urlencoded body of at most
// limit bytes (OpenID4VP direct_post, OAuth token requests).
func ParseForm(w http.ResponseWriter, r *http.Request, limit int64) error {
	if r.ContentLength > limit {
		return tooLarge(limit)
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(limit)
		}
		return Wrap(http.StatusBadRequest, CodeInvalidRequest, "malformed form body", err)
	}
	return nil
}

func tooLarge(limit int64) *Error {
	return E(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, fmt.Sprintf("request body is larger than %d bytes", limit))
}

func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %q must be %s", te.Field, te.Type)
		}
		return "JSON value has the wrong type"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "body is empty or truncated JSON"
	}
	return "malformed JSON"
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	writeJSONType(w, r, status, "application/json", v)
}

// WriteJSONType writes v as JSON under another JSON media type
// (application/did-resolution, application/jwk-set+json, ...).
func WriteJSONType(w http.ResponseWriter, r *http.Request, status int, contentType string, v any) {
	writeJSONType(w, r, status, contentType, v)
}

func writeJSONType(w http.ResponseWriter, r *http.Request, status int, contentType string, v any) {
	buf, err := json.Marshal(v)
	if err != nil {
		LoggerFrom(r.Context()).ErrorContext(r.Context(), "encode response", slog.Any("err", err))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"error":"server_error"}`+"\n")
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(buf, '\n'))
}

// LimitBody refuses a request body over n bytes: a declared length over n
// gets 413 request_too_large at once, and reading past n fails (ReadBody,
// ParseForm and ReadJSON then answer 413), so no handler can be made to
// hold more, whatever it reads the body with (r.ParseForm alone allows
// 10 MB).
func LimitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				WriteError(w, r, tooLarge(n))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}
