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

	"github.com/tongid/tong/credential/vciwire"
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
// authorization endpoint (JSON form) and the presentation it asks for,
// after which the wallet follows the verifier's redirect_uri back to the
// authorization endpoint with the page's cookie (same-device, OpenID4VP
// 1.0 §8.2); the redirect, whose state and iss (RFC 9207) are checked; the
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
	cfg, err := configuration(md, configID)
	if err != nil {
		return nil, err
	}
	if err := w.checkEndpoints(md, issuerURL); err != nil {
		return nil, err
	}
	issuerDID, err := w.checkIssuer(ctx, issuerURL, cfg.VCT)
	if err != nil {
		return nil, err
	}
	is := &issuance{iss: issuerURL, configID: configID, issuerDID: issuerDID, md: md, cfg: cfg}
	as, err := w.codeFlowServer(ctx, md, issuerURL)
	if err != nil {
		return nil, err
	}
	dp, err := w.newDPoP(as)
	if err != nil {
		return nil, err
	}
	verifier, state := random32(), random32()
	requestURI, err := w.pushAuthorization(ctx, as, configID, verifier, state, dp)
	if err != nil {
		return nil, err
	}
	redirectTo, err := w.signIn(ctx, as, requestURI, consent)
	if err != nil {
		return nil, err
	}
	code, err := readRedirect(redirectTo, state, as)
	if err != nil {
		return nil, err
	}
	if err := w.authorizationCodeToken(ctx, is, as, code, verifier, dp); err != nil {
		return nil, err
	}
	return w.issue(ctx, is)
}

// codeFlowServer fetches the issuer's authorization server metadata and
// checks that it runs the authorization code flow as the wallet does:
// pushed authorization requests, PKCE with S256, endpoints the wallet may
// call.
func (w *Wallet) codeFlowServer(ctx context.Context, md *vciwire.IssuerMetadata, iss string) (*vciwire.ASMetadata, error) {
	asID, as, err := w.fetchASMetadata(ctx, md, iss)
	if err != nil {
		return nil, err
	}
	if as.Issuer != asID || as.TokenEndpoint == "" || as.AuthorizationEndpoint == "" || as.PushedAuthorizationRequestEndpoint == "" {
		return nil, werr(CodeBadMetadata, "the authorization server %q has no pushed authorization request and authorization endpoints", asID)
	}
	if !contains(as.CodeChallengeMethodsSupported, "S256") {
		return nil, werr(CodeBadMetadata, "the authorization server does not support PKCE with S256")
	}
	for _, ep := range []string{as.AuthorizationEndpoint, as.PushedAuthorizationRequestEndpoint, as.TokenEndpoint} {
		if _, err := w.checkURL(ep); err != nil {
			return nil, werr(CodeBadMetadata, "endpoint %q: %v", ep, err)
		}
	}
	return as, nil
}

// dpopKey signs the DPoP proofs of one flow; a nil key signs none.
type dpopKey struct {
	k   *keys.Signer
	now func() time.Time
}

// newDPoP makes a DPoP key when the authorization server lists ES256 in
// dpop_signing_alg_values_supported, else a dpopKey that signs nothing.
func (w *Wallet) newDPoP(as *vciwire.ASMetadata) (*dpopKey, error) {
	d := &dpopKey{now: w.opts.Now}
	if contains(as.DPoPSigningAlgValuesSupported, "ES256") {
		var err error
		if d.k, err = keys.Generate(nil, keys.ES256); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// header gives the DPoP header for one request, or nil.
func (d *dpopKey) header(method, u, accessToken string) map[string]string {
	if d.k == nil {
		return nil
	}
	p, err := dpopProof(d.k, method, u, accessToken, d.now())
	if err != nil {
		return nil
	}
	return map[string]string{"DPoP": p}
}

// pushAuthorization sends the Pushed Authorization Request (RFC 9126)
// with PKCE and authorization_details (OpenID4VCI 1.0 §5.1.1), and
// returns its request_uri.
func (w *Wallet) pushAuthorization(ctx context.Context, as *vciwire.ASMetadata, configID, verifier, state string, dp *dpopKey) (string, error) {
	sum := sha256.Sum256([]byte(verifier))
	details, _ := json.Marshal([]vciwire.AuthorizationDetail{{Type: vciwire.AuthorizationDetailsType, CredentialConfigurationID: configID}})
	form := url.Values{"response_type": {"code"}, "client_id": {ClientID}, "redirect_uri": {RedirectURI}, "state": {state},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"authorization_details": {string(details)}}
	ep := as.PushedAuthorizationRequestEndpoint
	r, err := w.do(ctx, http.MethodPost, ep, "application/x-www-form-urlencoded", []byte(form.Encode()), dp.header(http.MethodPost, ep, ""))
	if err != nil {
		return "", err
	}
	var par vciwire.PARResponse
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &par) != nil || par.RequestURI == "" {
		return "", werr(CodeIssuerRefused, "pushed authorization request: %s", oauthError(r))
	}
	return par.RequestURI, nil
}

// signIn opens the authorization endpoint, answers the presentation it
// asks for (after consent), and, as a same-device wallet does
// (OpenID4VP 1.0 §8.2), follows the verifier's redirect_uri back to the
// authorization server with the cookie the authorization page set: the
// server gives the redirect with the code only to the user agent that
// opened the page and comes back with the response_code. It returns
// where the authorization server redirects.
func (w *Wallet) signIn(ctx context.Context, as *vciwire.ASMetadata, requestURI string, consent ConsentFunc) (string, error) {
	q := url.Values{"client_id": {ClientID}, "request_uri": {requestURI}}
	sep := "?"
	if strings.Contains(as.AuthorizationEndpoint, "?") {
		sep = "&"
	}
	var page vciwire.AuthorizationStatus
	r, err := w.do(ctx, http.MethodGet, as.AuthorizationEndpoint+sep+q.Encode(), "", nil, map[string]string{"Accept": "application/json"})
	if err != nil {
		return "", err
	}
	if r.status != 200 || json.Unmarshal(r.body, &page) != nil || page.PresentationURI == "" || !sameOrigin(page.StatusURI, as.AuthorizationEndpoint) {
		return "", werr(CodeIssuerRefused, "authorization endpoint: %s", oauthError(r))
	}
	cookies := (&http.Response{Header: r.header}).Cookies()
	req, err := w.Match(ctx, page.PresentationURI)
	if err != nil {
		return "", err
	}
	rec, err := w.Present(ctx, req, consent)
	if err != nil {
		return "", err
	}
	// The cookies go only back to the authorization server.
	back, err := url.Parse(rec.RedirectURI)
	if rec.RedirectURI == "" || err != nil || !sameOrigin(rec.RedirectURI, as.AuthorizationEndpoint) {
		return "", werr(CodeIssuerRefused, "the sign-in did not send the wallet back to the authorization server")
	}
	var jar []string
	for _, c := range cookies {
		if c.Path == "" || strings.HasPrefix(back.Path, c.Path) {
			jar = append(jar, c.Name+"="+c.Value)
		}
	}
	hdr := map[string]string{"Accept": "application/json"}
	if len(jar) > 0 {
		hdr["Cookie"] = strings.Join(jar, "; ")
	}
	if r, err = w.do(ctx, http.MethodGet, rec.RedirectURI, "", nil, hdr); err != nil {
		return "", err
	}
	page = vciwire.AuthorizationStatus{}
	if r.status != 200 || json.Unmarshal(r.body, &page) != nil || page.Status != "done" {
		return "", werr(CodeIssuerRefused, "authorization endpoint: %s", oauthError(r))
	}
	return page.RedirectTo, nil
}

// readRedirect checks the authorization response's state and iss and
// returns its code.
func readRedirect(redirectTo, state string, as *vciwire.ASMetadata) (string, error) {
	ru, err := url.Parse(redirectTo)
	if err != nil || !strings.HasPrefix(redirectTo, RedirectURI) {
		return "", werr(CodeIssuerRefused, "the authorization server redirected elsewhere")
	}
	rq := ru.Query()
	if rq.Get("state") != state {
		return "", werr(CodeIssuerRefused, "the authorization response's state is not ours")
	}
	// Spec: RFC 9207 §2.4: a client that knows the server sends iss MUST
	// check it against the issuer identifier.
	if (as.AuthorizationResponseISSSupported || rq.Has("iss")) && rq.Get("iss") != as.Issuer {
		return "", werr(CodeIssuerRefused, "the authorization response's iss is not the authorization server")
	}
	if e := rq.Get("error"); e != "" {
		return "", werr(CodeAuthorizationDenied, "%s: %s", e, rq.Get("error_description"))
	}
	return rq.Get("code"), nil
}

// authorizationCodeToken redeems the code with its PKCE verifier, and a
// DPoP proof when the flow has a key, and sets is's token endpoint and
// auth: DPoP for a DPoP-bound token, Bearer (and its refresh token)
// otherwise.
func (w *Wallet) authorizationCodeToken(ctx context.Context, is *issuance, as *vciwire.ASMetadata, code, verifier string, dp *dpopKey) error {
	form := url.Values{vciwire.ParamGrantType: {vciwire.GrantAuthorizationCode}, vciwire.ParamCode: {code}, vciwire.ParamCodeVerifier: {verifier},
		vciwire.ParamRedirectURI: {RedirectURI}, vciwire.ParamClientID: {ClientID}}
	r, tok, err := w.postToken(ctx, as.TokenEndpoint, form, dp.header(http.MethodPost, as.TokenEndpoint, ""))
	if err != nil {
		return err
	}
	if tok == nil {
		return werr(CodeIssuerRefused, "token endpoint: %s", oauthError(r))
	}
	is.tokenEndpoint = as.TokenEndpoint
	switch {
	case dp.k != nil && strings.EqualFold(tok.TokenType, "DPoP"):
		is.auth = func(method, u string) map[string]string {
			h := dp.header(method, u, tok.AccessToken)
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
		return werr(CodeIssuerRefused, "token endpoint gave a %q token", tok.TokenType)
	}
	return nil
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
