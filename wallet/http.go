package wallet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/tongid/tong/internal/fault"
)

// MaxResponse bounds every response the wallet reads.
const MaxResponse = 1 << 20

// Error is a wallet error with a stable code, so apps can show the right
// message. Description never holds claim values. Its message is
// "wallet: code: description: cause".
type Error = fault.Error[string, kind]

// kind is the fault.Kind of this package's errors.
type kind struct{}

// Prefix is "wallet".
func (kind) Prefix() string { return "wallet" }

// Codes of Error.
const (
	CodeBadOffer          = "bad_offer"
	CodeBadMetadata       = "bad_issuer_metadata"
	CodeIssuerUntrusted   = "issuer_untrusted"
	CodeTxCodeRequired    = "tx_code_required"
	CodeIssuerRefused     = "issuer_refused"
	CodeBadCredential     = "bad_credential"
	CodeCredentialRevoked = "credential_not_valid"
	CodeBadRequest        = "bad_request"
	CodeVerifierUntrusted = "verifier_untrusted"
	CodeRequestExpired    = "request_expired"
	CodeNoMatch           = "no_matching_credentials"
	CodeDeclined          = "declined"
	CodeVerifierRefused   = "verifier_refused"
	CodeHTTP              = "http"
)

func werr(code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of the first wallet *Error in err's chain, or "".
func CodeOf(err error) string { return fault.CodeOf[string, kind](err) }

// checkURL allows https, and http to loopback hosts when configured.
func (w *Wallet) checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("not an absolute URL: %q", raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && w.opts.AllowLoopbackHTTP && isLoopback(u.Hostname()):
	default:
		return nil, fmt.Errorf("%s is not https", raw)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// response is a read HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request and reads the answer (at most MaxResponse bytes). It
// refuses non-https URLs and never follows redirects.
func (w *Wallet) do(ctx context.Context, method, rawURL, contentType string, body []byte, hdr map[string]string) (*response, error) {
	if _, err := w.checkURL(rawURL); err != nil {
		return nil, &Error{Code: CodeHTTP, Description: err.Error()}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	noRedirects(req)
	resp, err := w.http.Do(req)
	if err != nil {
		return nil, &Error{Code: CodeNetwork, Description: method + " " + rawURL, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, werr(CodeHTTP, "%s answered with a redirect to %q; wallets do not follow redirects", rawURL, resp.Header.Get("Location"))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return nil, &Error{Code: CodeHTTP, Description: "reading " + rawURL, Err: err}
	}
	if len(b) > MaxResponse {
		return nil, werr(CodeHTTP, "%s answered with more than %d bytes", rawURL, MaxResponse)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// getJSON fetches a JSON document.
func (w *Wallet) getJSON(ctx context.Context, rawURL string, out any) error {
	r, err := w.do(ctx, http.MethodGet, rawURL, "", nil, map[string]string{"Accept": "application/json"})
	if err != nil {
		return err
	}
	if r.status != 200 {
		return werr(CodeHTTP, "GET %s: HTTP %d", rawURL, r.status)
	}
	if mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); mt != "application/json" {
		return werr(CodeHTTP, "GET %s: content type %q, want application/json", rawURL, mt)
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		return werr(CodeHTTP, "GET %s: malformed JSON", rawURL)
	}
	return nil
}

// oauthError reads an OAuth error body.
func oauthError(r *response) string {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(r.body, &e)
	if e.Error == "" {
		return fmt.Sprintf("HTTP %d", r.status)
	}
	if e.Description != "" {
		return e.Error + ": " + strings.TrimSpace(e.Description)
	}
	return e.Error
}

// wellKnown inserts a well-known segment between host and path.
func wellKnown(id, segment string) (string, error) {
	u, err := url.Parse(id)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("bad identifier %q", id)
	}
	return u.Scheme + "://" + u.Host + "/.well-known/" + segment + strings.TrimSuffix(u.EscapedPath(), "/"), nil
}

// Codes added for the phone wallet: each names a situation the citizen
// can act on.
const (
	// CodeOfferInvalid: the issuer refused the offer's code or PIN
	// (invalid_grant): a wrong PIN, or an offer used or expired.
	CodeOfferInvalid = "offer_invalid"
	// CodeVerifierNotAccredited: the registry knows the verifier, but it
	// is not accredited for the purpose it asks for.
	CodeVerifierNotAccredited = "verifier_not_accredited"
	// CodeCopiesExhausted: a credential that would answer has no unused
	// one-time copy left, and the issuer gave none (refill failed).
	CodeCopiesExhausted = "copies_exhausted"
	// CodeNetwork: a server could not be reached (offline, DNS, TLS).
	CodeNetwork = "network"
)

// codeOrNetwork keeps CodeNetwork from a cause, else returns code.
func codeOrNetwork(err error, code string) string {
	if CodeOf(err) == CodeNetwork {
		return CodeNetwork
	}
	return code
}

// oauthCode reads the error member of an OAuth error body.
func oauthCode(r *response) string {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error
}
