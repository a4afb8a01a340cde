package wallet

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
)

// Names of the authorization code flow the wallet runs.
const (
	// ClientID is the client_id the wallet gives authorization servers:
	// it is a public client (no client authentication).
	ClientID = "tong-wallet"
	// RedirectURI is the wallet's redirect_uri, a private-use scheme
	// (RFC 8252 §7.1). The wallet reads the redirect from the
	// authorization page's JSON form, so it is never opened.
	RedirectURI = "tong-wallet://authorized"
	// CodeAuthorizationDenied: the authorization server sent the citizen
	// back with an error (access_denied: no credential waits for them,
	// or the sign-in presentation failed).
	CodeAuthorizationDenied = "authorization_denied"
)

// ReceiveAuthorized runs the OpenID4VCI authorization code flow, started
// by the wallet, for one credential configuration of an issuer, and
// stores the credential as Receive does. The citizen signs in at the
// authorization endpoint with a credential this wallet already holds: the
// issuer's authorization page asks for an OpenID4VP presentation, which
// the wallet answers after consent (the ConsentFunc, as in Present).
//
// The steps: the issuer and authorization server metadata; a Pushed
// Authorization Request (RFC 9126) with PKCE S256 (RFC 7636) and
// authorization_details of type openid_credential, with a DPoP proof
// (RFC 9449) when the server lists dpop_signing_alg_values_supported; the
// authorization endpoint (JSON form) and the presentation it asks for;
// the redirect, whose state and iss (RFC 9207) are checked; the
// authorization_code grant with the code_verifier and a DPoP proof by the
// same key; then the credential request, with DPoP. A DPoP-bound refresh
// token is not kept (Refill sends no DPoP proof).
func (w *Wallet) ReceiveAuthorized(ctx context.Context, issuerURL, configID string, consent ConsentFunc) (*Credential, error) {
	if _, err := w.checkURL(issuerURL); err != nil {
		return nil, werr(CodeBadMetadata, "issuer URL: %v", err)
	}
	md, err := w.fetchMetadata(ctx, issuerURL)
	if err != nil {
		return nil, err
	}
	cfg, ok := md.Configurations[configID]
	if !ok || cfg.Format != credential.TypSDJWTVC || cfg.VCT == "" {
		return nil, werr(CodeBadMetadata, "the issuer does not describe %q as a dc+sd-jwt credential", configID)
	}
	for _, ep := range []string{md.CredentialEndpoint, md.NonceEndpoint} {
		if _, err := w.checkURL(ep); err != nil || !sameOrigin(ep, issuerURL) {
			return nil, werr(CodeBadMetadata, "endpoint %q must be https on the issuer's host", ep)
		}
	}
	issuerDID, err := w.checkIssuer(ctx, issuerURL, cfg.VCT)
	if err != nil {
		return nil, err
	}
	asID := issuerURL
	if len(md.AuthorizationServers) > 0 {
		asID = md.AuthorizationServers[0]
	}
	asURL, _ := wellKnown(asID, "oauth-authorization-server")
	var as struct {
		Issuer                string   `json:"issuer"`
		AuthorizationEndpoint string   `json:"authorization_endpoint"`
		PAREndpoint           string   `json:"pushed_authorization_request_endpoint"`
		TokenEndpoint         string   `json:"token_endpoint"`
		CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
		DPoPAlgs              []string `json:"dpop_signing_alg_values_supported"`
		ISSParameter          bool     `json:"authorization_response_iss_parameter_supported"`
	}
	if err := w.getJSON(ctx, asURL, &as); err != nil {
		return nil, &Error{Code: CodeBadMetadata, Description: "fetching authorization server metadata", Err: err}
	}
	if as.Issuer != asID || as.TokenEndpoint == "" || as.AuthorizationEndpoint == "" || as.PAREndpoint == "" {
		return nil, werr(CodeBadMetadata, "the authorization server %q has no pushed authorization request and authorization endpoints", asID)
	}
	if !contains(as.CodeChallengeMethods, "S256") {
		return nil, werr(CodeBadMetadata, "the authorization server does not support PKCE with S256")
	}
	for _, ep := range []string{as.AuthorizationEndpoint, as.PAREndpoint, as.TokenEndpoint} {
		if _, err := w.checkURL(ep); err != nil {
			return nil, werr(CodeBadMetadata, "endpoint %q: %v", ep, err)
		}
	}
	var dk *keys.Signer
	if contains(as.DPoPAlgs, "ES256") {
		if dk, err = keys.Generate(nil, keys.ES256); err != nil {
			return nil, err
		}
	}
	dpop := func(method, u, accessToken string) map[string]string {
		if dk == nil {
			return nil
		}
		p, err := dpopProof(dk, method, u, accessToken, w.opts.Now())
		if err != nil {
			return nil
		}
		return map[string]string{"DPoP": p}
	}

	// PAR with PKCE and authorization_details.
	verifier, state := random32(), random32()
	sum := sha256.Sum256([]byte(verifier))
	details, _ := json.Marshal([]map[string]string{{"type": "openid_credential", "credential_configuration_id": configID}})
	form := url.Values{"response_type": {"code"}, "client_id": {ClientID}, "redirect_uri": {RedirectURI}, "state": {state},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"authorization_details": {string(details)}}
	r, err := w.do(ctx, http.MethodPost, as.PAREndpoint, "application/x-www-form-urlencoded", []byte(form.Encode()), dpop(http.MethodPost, as.PAREndpoint, ""))
	if err != nil {
		return nil, err
	}
	var par struct {
		RequestURI string `json:"request_uri"`
	}
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &par) != nil || par.RequestURI == "" {
		return nil, werr(CodeIssuerRefused, "pushed authorization request: %s", oauthError(r))
	}

	// The authorization endpoint asks for a presentation.
	q := url.Values{"client_id": {ClientID}, "request_uri": {par.RequestURI}}
	sep := "?"
	if strings.Contains(as.AuthorizationEndpoint, "?") {
		sep = "&"
	}
	var page struct {
		Status          string `json:"status"`
		PresentationURI string `json:"presentation_uri"`
		StatusURI       string `json:"status_uri"`
		RedirectTo      string `json:"redirect_to"`
	}
	accept := map[string]string{"Accept": "application/json"}
	if r, err = w.do(ctx, http.MethodGet, as.AuthorizationEndpoint+sep+q.Encode(), "", nil, accept); err != nil {
		return nil, err
	}
	if r.status != 200 || json.Unmarshal(r.body, &page) != nil || page.PresentationURI == "" || !sameOrigin(page.StatusURI, as.AuthorizationEndpoint) {
		return nil, werr(CodeIssuerRefused, "authorization endpoint: %s", oauthError(r))
	}
	req, err := w.Match(ctx, page.PresentationURI)
	if err != nil {
		return nil, err
	}
	if _, err := w.Present(ctx, req, consent); err != nil {
		return nil, err
	}
	for page.Status != "done" {
		if r, err = w.do(ctx, http.MethodGet, page.StatusURI, "", nil, accept); err != nil {
			return nil, err
		}
		if r.status != 200 || json.Unmarshal(r.body, &page) != nil {
			return nil, werr(CodeIssuerRefused, "authorization endpoint: %s", oauthError(r))
		}
		if page.Status == "done" {
			break
		}
		select {
		case <-ctx.Done():
			return nil, werr(CodeIssuerRefused, "the issuer did not finish the authorization")
		case <-time.After(200 * time.Millisecond):
		}
	}

	// The redirect: state and iss, then the code.
	ru, err := url.Parse(page.RedirectTo)
	if err != nil || !strings.HasPrefix(page.RedirectTo, RedirectURI) {
		return nil, werr(CodeIssuerRefused, "the authorization server redirected elsewhere")
	}
	rq := ru.Query()
	if rq.Get("state") != state {
		return nil, werr(CodeIssuerRefused, "the authorization response's state is not ours")
	}
	// Spec: RFC 9207 §2.4: a client that knows the server sends iss MUST
	// check it against the issuer identifier.
	if (as.ISSParameter || rq.Has("iss")) && rq.Get("iss") != as.Issuer {
		return nil, werr(CodeIssuerRefused, "the authorization response's iss is not the authorization server")
	}
	if e := rq.Get("error"); e != "" {
		return nil, werr(CodeAuthorizationDenied, "%s: %s", e, rq.Get("error_description"))
	}
	tf := url.Values{"grant_type": {"authorization_code"}, "code": {rq.Get("code")}, "code_verifier": {verifier},
		"redirect_uri": {RedirectURI}, "client_id": {ClientID}}
	if r, err = w.do(ctx, http.MethodPost, as.TokenEndpoint, "application/x-www-form-urlencoded", []byte(tf.Encode()), dpop(http.MethodPost, as.TokenEndpoint, "")); err != nil {
		return nil, err
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		RefreshToken string `json:"refresh_token"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &tok) != nil || tok.AccessToken == "" {
		return nil, werr(CodeIssuerRefused, "token endpoint: %s", oauthError(r))
	}
	is := &issuance{iss: issuerURL, configID: configID, issuerDID: issuerDID, md: md, cfg: cfg, tokenEndpoint: as.TokenEndpoint}
	switch {
	case dk != nil && strings.EqualFold(tok.TokenType, "DPoP"):
		is.auth = func(method, u string) map[string]string {
			h := dpop(method, u, tok.AccessToken)
			if h == nil {
				h = map[string]string{}
			}
			h["Authorization"] = "DPoP " + tok.AccessToken
			return h
		}
	case strings.EqualFold(tok.TokenType, "Bearer"):
		is.refreshToken = tok.RefreshToken
		is.auth = func(string, string) map[string]string {
			return map[string]string{"Authorization": "Bearer " + tok.AccessToken}
		}
	default:
		return nil, werr(CodeIssuerRefused, "token endpoint gave a %q token", tok.TokenType)
	}
	return w.issue(ctx, is)
}

// dpopProof signs a DPoP proof (RFC 9449 §4.2) for one request.
func dpopProof(k *keys.Signer, method, u, accessToken string, now time.Time) (string, error) {
	jwk, err := jose.PublicJWK(k.Public())
	if err != nil {
		return "", err
	}
	h, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": k.Alg(), "jwk": jwk})
	c := map[string]any{"jti": random32(), "htm": method, "htu": u, "iat": now.Unix()}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		c["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	p, _ := json.Marshal(c)
	return jose.SignRaw(k, h, p)
}

func random32() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
