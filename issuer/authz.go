package issuer

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/tongid/tong/credential/vciwire"
)

// Names of the authorization code flow (RFC 6749, RFC 7636, RFC 9126,
// OpenID4VCI 1.0 §5).
const (
	GrantAuthorizationCode = vciwire.GrantAuthorizationCode
	// RequestURIPrefix is how RFC 9126 §2.2 suggests request_uri values
	// look: "urn:ietf:params:oauth:request_uri:<reference-value>".
	RequestURIPrefix = "urn:ietf:params:oauth:request_uri:"
	// PKCEMethodS256 is the only code_challenge_method accepted.
	PKCEMethodS256 = "S256"
	// AuthorizationDetailsType is OpenID4VCI 1.0 §5.1.1's type.
	AuthorizationDetailsType = vciwire.AuthorizationDetailsType
	// ProfileHAIP marks an agency of high assurance (OpenID4VC HAIP 1.0):
	// its authorization code flow requires DPoP at the PAR and token
	// endpoints, so that its access tokens are all DPoP-bound at the
	// credential endpoint. Its pre-authorized code flow is unchanged.
	ProfileHAIP = "haip"
	// SubjectClaim is the identity credential's claim that names the
	// citizen at the authorization endpoint.
	SubjectClaim = "personal_administrative_number"
)

// Lifetimes of the authorization code flow.
const (
	// RequestURITTL is expires_in of a PAR response. Spec: RFC 9126 §2.2
	// gives 60 seconds as an example; the citizen has to open the
	// authorization page within it, not finish.
	RequestURITTL = 90 * time.Second
	// AuthenticationTTL is how long the citizen has to present at the
	// authorization page.
	AuthenticationTTL = 5 * time.Minute
	// AuthorizationCodeTTL: RFC 6749 §4.1.2 "A maximum authorization code
	// lifetime of 10 minutes is RECOMMENDED".
	AuthorizationCodeTTL = 2 * time.Minute
)

// Error codes of the authorization endpoint (RFC 6749 §4.1.2.1).
const (
	CodeAccessDenied       Code = "access_denied"
	CodeInvalidClient      Code = "invalid_client"
	CodeInvalidRequestURI  Code = "invalid_request_uri"
	CodeAuthenticationWait Code = "authorization_pending"
)

// phases of an issuer_authz row.
const (
	phasePushed         = "pushed"
	phaseAuthenticating = "authenticating"
	phaseAuthorized     = "authorized"
	phaseRedeemed       = "redeemed"
	phaseFailed         = "failed"
)

// Authenticator identifies a citizen at the authorization endpoint from a
// presentation of a credential they already hold (Tong's verifier asking
// for the citizen identity credential). The issuer knows only the subject
// it returns.
type Authenticator interface {
	// Start begins an authentication for an agency and returns the
	// session's id and the request URI a wallet answers
	// (openid4vp://...).
	Start(ctx context.Context, agency string) (session, requestURI string, err error)
	// Subject returns the verified subject (the SubjectClaim value) of a
	// finished session. It MUST return ErrAuthenticationPending while the
	// citizen has not answered, and an error wrapping
	// ErrAuthenticationFailed when the presentation was refused or the
	// session expired.
	Subject(ctx context.Context, session string) (string, error)
}

// Sentinels of Authenticator.Subject.
var (
	ErrAuthenticationPending = errors.New("issuer: authentication pending")
	ErrAuthenticationFailed  = errors.New("issuer: authentication failed")
)

// SetProfile sets an agency's assurance profile: "" or ProfileHAIP.
func (s *Service) SetProfile(ctx context.Context, slug, profile string) error {
	if _, err := s.Agency(ctx, slug); err != nil {
		return err
	}
	if profile != "" && profile != ProfileHAIP {
		return errorf(CodeInvalidRequest, "profile must be empty or %q", ProfileHAIP)
	}
	if err := s.st.putProfile(ctx, slug, profile); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.agencies, slug)
	s.mu.Unlock()
	return s.audit(ctx, s.st, slug, "operator", "agency.profile", slug, profile)
}

// RequiresDPoP tells whether the agency requires DPoP for every request
// of the authorization code flow (PAR, token, and so credential).
func (a *Agency) RequiresDPoP() bool { return a.Profile == ProfileHAIP }

// AuthorizationFlow tells whether the service runs the authorization code
// flow (it has an Authenticator).
func (s *Service) AuthorizationFlow() bool { return s.cfg.Authenticator != nil }

// PARRequest is a pushed authorization request (RFC 9126 §2.1) with the
// parameters of RFC 6749 §4.1.1, RFC 7636 §4.3 and OpenID4VCI 1.0 §5.1.
type PARRequest struct {
	ResponseType         string
	ClientID             string
	RedirectURI          string
	State                string
	Scope                string
	CodeChallenge        string
	CodeChallengeMethod  string
	AuthorizationDetails string // JSON array, as sent
	// DPoPJKT is the dpop_jkt parameter (RFC 9449 §10); DPoPKey the
	// thumbprint of the request's verified DPoP proof, or "".
	DPoPJKT string
	DPoPKey string
}

// PARResponse is the PAR endpoint's answer (RFC 9126 §2.2).
type PARResponse = vciwire.PARResponse

var (
	// Spec: RFC 7636 §4.2: code_challenge = BASE64URL(SHA256(code_verifier)),
	// 43 characters; §4.1: code_verifier = 43*128unreserved.
	challengeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	verifierRE  = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)
)

// PushAuthorizationRequest stores a pushed authorization request and
// returns its request_uri.
func (s *Service) PushAuthorizationRequest(ctx context.Context, slug string, req PARRequest) (*PARResponse, error) {
	a, err := s.Agency(ctx, slug)
	if err != nil {
		return nil, err
	}
	if !s.AuthorizationFlow() {
		return nil, errorf(CodeInvalidRequest, "this issuer does not run the authorization code flow")
	}
	if a.RequiresDPoP() && req.DPoPKey == "" {
		return nil, errorf(CodeInvalidDPoPProof, "this agency requires a DPoP proof at the pushed authorization request endpoint")
	}
	if req.DPoPJKT != "" && req.DPoPKey != "" && req.DPoPJKT != req.DPoPKey {
		// Spec: RFC 9449 §10.1: "the authorization server MUST check
		// that the dpop_jkt parameter value matches the JWK Thumbprint"
		// of the proof's key.
		return nil, errorf(CodeInvalidDPoPProof, "dpop_jkt does not match the DPoP proof's key")
	}
	jkt := req.DPoPKey
	if jkt == "" {
		jkt = req.DPoPJKT
	}
	if req.ResponseType != "code" {
		return nil, errorf(CodeInvalidRequest, "response_type must be code")
	}
	if req.ClientID == "" || len(req.ClientID) > 256 {
		return nil, errorf(CodeInvalidRequest, "client_id is required (at most 256 characters)")
	}
	if err := checkRedirectURI(req.RedirectURI); err != nil {
		return nil, err
	}
	if len(req.State) > 512 {
		return nil, errorf(CodeInvalidRequest, "state is longer than 512 characters")
	}
	// Spec: RFC 7636 §4.4.1 and HAIP 1.0 (PKCE with S256 is required):
	// a request without a code_challenge is refused, as is "plain".
	switch {
	case req.CodeChallenge == "":
		return nil, errorf(CodeInvalidRequest, "code_challenge is required (PKCE, RFC 7636)")
	case req.CodeChallengeMethod != PKCEMethodS256:
		return nil, errorf(CodeInvalidRequest, "code_challenge_method must be S256")
	case !challengeRE.MatchString(req.CodeChallenge):
		return nil, errorf(CodeInvalidRequest, "code_challenge must be 43 base64url characters (S256)")
	}
	typeID, err := s.requestedType(ctx, slug, req.AuthorizationDetails, req.Scope)
	if err != nil {
		return nil, err
	}
	idb := make([]byte, 24)
	_, _ = rand.Read(idb)
	id := base64.RawURLEncoding.EncodeToString(idb)
	now := s.cfg.Now()
	err = s.st.insertAuthz(ctx, &authzRecord{ID: id, Agency: slug, ClientID: req.ClientID, RedirectURI: req.RedirectURI, State: req.State,
		CodeChallenge: req.CodeChallenge, TypeID: typeID, DPoPJKT: jkt, CreatedAt: now.Unix(), ExpiresAt: now.Add(RequestURITTL).Unix()})
	if err != nil {
		return nil, err
	}
	return &PARResponse{RequestURI: RequestURIPrefix + id, ExpiresIn: int(RequestURITTL / time.Second)}, nil
}

// checkRedirectURI: an absolute URI without fragment (RFC 6749 §3.1.2);
// http only on loopback (RFC 8252 §7.3), or a private-use scheme (§7.1).
func checkRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if raw == "" || len(raw) > 1024 || err != nil || !u.IsAbs() || u.Fragment != "" {
		return errorf(CodeInvalidRequest, "redirect_uri must be an absolute URI without fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return errorf(CodeInvalidRequest, "redirect_uri may use http only on loopback")
		}
	case "javascript", "data", "file", "vbscript":
		return errorf(CodeInvalidRequest, "redirect_uri scheme %q is not allowed", u.Scheme)
	}
	return nil
}

// requestedType reads authorization_details (or, without it, scope) and
// returns the one credential configuration asked for.
func (s *Service) requestedType(ctx context.Context, slug, details, scope string) (string, error) {
	var id string
	switch {
	case details != "":
		var ds []vciwire.AuthorizationDetail
		if len(details) > 4<<10 || json.Unmarshal([]byte(details), &ds) != nil {
			return "", errorf(CodeInvalidRequest, "authorization_details must be a JSON array")
		}
		if len(ds) != 1 {
			return "", errorf(CodeInvalidRequest, "authorization_details must ask for exactly one credential")
		}
		// Spec: OpenID4VCI 1.0 #section-5.1.1: "type: REQUIRED. String
		// that determines the authorization details type. It MUST be set
		// to openid_credential"; "credential_configuration_id: REQUIRED".
		if ds[0].Type != AuthorizationDetailsType {
			return "", errorf(CodeInvalidRequest, "authorization_details type must be %s", AuthorizationDetailsType)
		}
		if ds[0].CredentialConfigurationID == "" {
			return "", errorf(CodeInvalidRequest, "authorization_details needs credential_configuration_id")
		}
		id = ds[0].CredentialConfigurationID
	case scope != "":
		if strings.Contains(scope, " ") {
			return "", errorf(CodeInvalidRequest, "scope must name exactly one credential configuration")
		}
		id = scope
	default:
		return "", errorf(CodeInvalidRequest, "authorization_details or scope is required")
	}
	if _, err := s.Type(ctx, slug, id); err != nil {
		if CodeOf(err) == CodeUnknownType || CodeOf(err) == CodeNotFound {
			return "", errorf(CodeInvalidRequest, "unknown credential configuration %q", id)
		}
		return "", err
	}
	return id, nil
}

// Authorization is an authorization in progress at the authorization
// endpoint: the citizen is asked to present.
type Authorization struct {
	ID string
	// RequestURI is the presentation request the wallet answers.
	RequestURI string
	TypeID     string
}

// Authorize takes the authorization endpoint's client_id and request_uri,
// spends the request_uri and starts the citizen's authentication.
//
// Spec: RFC 9126 §4: "the authorization server SHOULD treat request_uri
// values as one-time use"; §2.1 and RFC 6749: the client_id must be the
// one that pushed the request.
func (s *Service) Authorize(ctx context.Context, slug, clientID, requestURI string) (*Authorization, error) {
	if _, err := s.Agency(ctx, slug); err != nil {
		return nil, err
	}
	if !s.AuthorizationFlow() {
		return nil, errorf(CodeInvalidRequest, "this issuer does not run the authorization code flow")
	}
	id, ok := strings.CutPrefix(requestURI, RequestURIPrefix)
	if !ok || len(id) != 32 {
		return nil, errorf(CodeInvalidRequestURI, "request_uri is not one this issuer made")
	}
	now := s.cfg.Now()
	ok, err := s.st.startAuthentication(ctx, id, slug, clientID, now.Unix(), now.Add(AuthenticationTTL).Unix())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errorf(CodeInvalidRequestURI, "request_uri is unknown, expired, already used, or was pushed by another client_id")
	}
	typeID, err := s.st.authzType(ctx, id)
	if err != nil {
		return nil, err
	}
	sess, reqURI, err := s.cfg.Authenticator.Start(ctx, slug)
	if err != nil {
		return nil, err
	}
	if err := s.st.setAuthzSession(ctx, id, sess, reqURI); err != nil {
		return nil, err
	}
	return &Authorization{ID: id, RequestURI: reqURI, TypeID: typeID}, nil
}

// AuthorizationResult is the outcome of an authorization: where the
// user agent goes next (the client's redirect_uri with code and state, or
// with error and state).
type AuthorizationResult struct {
	RedirectTo string
	// Pending: the citizen has not presented yet; PresentationURI is the
	// request their wallet answers.
	Pending         bool
	PresentationURI string
}

// FinishAuthorization looks at an authorization's authentication. While
// the citizen has not presented, Pending is set. Once they have, the
// offer staged for them (same agency, type, and subject) is bound to a
// new authorization code, and the result is the redirect to the client:
// redirect_uri?code=...&state=...&iss=... (RFC 6749 §4.1.2, RFC 9207 §2),
// or ?error=access_denied&state=... when no offer waits for the citizen
// or the presentation failed.
func (s *Service) FinishAuthorization(ctx context.Context, slug, id string) (*AuthorizationResult, error) {
	a, err := s.Agency(ctx, slug)
	if err != nil {
		return nil, err
	}
	if !s.AuthorizationFlow() {
		return nil, errorf(CodeNotFound, "no such authorization")
	}
	r, err := s.st.authz(ctx, id, slug)
	if errors.Is(err, errNoRecord) || (err == nil && (r.Phase != phaseAuthenticating || r.Session == nil)) {
		return nil, errorf(CodeNotFound, "no such authorization, or it has finished")
	}
	if err != nil {
		return nil, err
	}
	redirect, state, typeID := r.RedirectURI, r.State, r.TypeID
	now := s.cfg.Now()
	deny := func(desc string) (*AuthorizationResult, error) {
		if err := s.st.failAuthz(ctx, id); err != nil {
			return nil, err
		}
		return &AuthorizationResult{RedirectTo: withQuery(redirect, url.Values{"error": {string(CodeAccessDenied)}, "error_description": {desc}, "state": {state}, "iss": {a.IssuerURL}})}, nil
	}
	if now.Unix() >= r.ExpiresAt {
		return deny("the citizen did not present in time")
	}
	subject, err := s.cfg.Authenticator.Subject(ctx, *r.Session)
	switch {
	case errors.Is(err, ErrAuthenticationPending):
		var presentation string
		if r.Presentation != nil {
			presentation = *r.Presentation
		}
		return &AuthorizationResult{Pending: true, PresentationURI: presentation}, nil
	case errors.Is(err, ErrAuthenticationFailed):
		return deny("the presentation of the identity credential was not accepted")
	case err != nil:
		return nil, err
	}
	offerID, err := s.st.offerForSubject(ctx, s.subjectMAC(slug, subject), slug, typeID, now.Unix())
	if errors.Is(err, errNoRecord) {
		return deny("the agency has no credential of this type waiting for this citizen")
	}
	if err != nil {
		return nil, err
	}
	cb := make([]byte, 32)
	_, _ = rand.Read(cb)
	code := base64.RawURLEncoding.EncodeToString(cb)
	ch := sha256.Sum256([]byte(code))
	ok, err := s.st.authorize(ctx, id, offerID, ch[:], now.Add(AuthorizationCodeTTL).Unix())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errorf(CodeNotFound, "no such authorization, or it has finished")
	}
	if err := s.audit(ctx, s.st, slug, "citizen", "authz.authorize", offerID, ""); err != nil {
		return nil, err
	}
	return &AuthorizationResult{RedirectTo: withQuery(redirect, url.Values{"code": {code}, "state": {state}, "iss": {a.IssuerURL}})}, nil
}

func withQuery(raw string, v url.Values) string {
	u, _ := url.Parse(raw)
	q := u.Query()
	for k, vs := range v {
		if len(vs) == 1 && vs[0] == "" && k == "state" {
			continue
		}
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// subjectMAC is how an offer names its citizen: an HMAC, so the table
// holds no identifier.
func (s *Service) subjectMAC(slug, subject string) []byte {
	m := hmac.New(sha256.New, s.macKey)
	m.Write([]byte("subject\x00" + slug + "\x00" + subject))
	return m.Sum(nil)
}

// redeemCode answers the authorization_code grant.
func (s *Service) redeemCode(ctx context.Context, slug string, req TokenRequest) (*TokenResponse, error) {
	if req.Code == "" || len(req.Code) > 128 {
		return nil, errorf(CodeInvalidRequest, "code is missing")
	}
	if req.CodeVerifier == "" {
		return nil, errorf(CodeInvalidRequest, "code_verifier is required (PKCE)")
	}
	a, err := s.Agency(ctx, slug)
	if err != nil {
		return nil, err
	}
	if a.RequiresDPoP() && req.DPoPKey == "" {
		// Checked before anything is spent: the wallet may try again
		// with a proof.
		return nil, errorf(CodeInvalidDPoPProof, "this agency requires a DPoP proof at the token endpoint")
	}
	ch := sha256.Sum256([]byte(req.Code))
	now := s.cfg.Now()
	var resp *TokenResponse
	var grantErr error
	err = s.st.groupTx(ctx, func(tx storeTx) error {
		r, err := tx.authzByCode(ctx, ch[:])
		if errors.Is(err, errNoRecord) || (err == nil && r.Agency != slug) {
			grantErr = errorf(CodeInvalidGrant, "authorization code is invalid")
			return nil
		}
		if err != nil {
			return err
		}
		clientID, redirect, challenge, jkt, offerID, expires := r.ClientID, r.RedirectURI, r.CodeChallenge, r.DPoPJKT, r.OfferID, r.ExpiresAt
		if r.Phase != phaseAuthorized {
			grantErr = errorf(CodeInvalidGrant, "authorization code was already used")
			return nil
		}
		// From here on the code is spent whatever happens: a wrong
		// code_verifier or redirect_uri burns it (no second guess).
		ok, err := tx.redeemAuthz(ctx, r.ID)
		if err != nil {
			return err
		}
		if !ok {
			grantErr = errorf(CodeInvalidGrant, "authorization code was already used")
			return nil
		}
		sum := sha256.Sum256([]byte(req.CodeVerifier))
		switch {
		case now.Unix() >= expires:
			grantErr = errorf(CodeInvalidGrant, "authorization code has expired")
		// Spec: RFC 6749 §4.1.3: the server MUST "ensure that the
		// redirect_uri parameter is present if [it] was included in the
		// initial authorization request ... and if included ensure that
		// their values are identical"; and the client_id's.
		case req.ClientID != clientID:
			grantErr = errorf(CodeInvalidGrant, "client_id differs from the one of the authorization request")
		case req.RedirectURI != redirect:
			grantErr = errorf(CodeInvalidGrant, "redirect_uri differs from the one of the authorization request")
		// Spec: RFC 7636 §4.6: BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))
		// == code_challenge.
		case !verifierRE.MatchString(req.CodeVerifier) ||
			subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) != 1:
			grantErr = errorf(CodeInvalidGrant, "code_verifier does not match the code_challenge")
		// Spec: RFC 9449 §10: with dpop_jkt (or a DPoP-proven PAR), the
		// token request's proof must be by the same key.
		case jkt != "" && req.DPoPKey != jkt:
			grantErr = errorf(CodeInvalidDPoPProof, "the DPoP proof is not by the key the authorization request was bound to")
		}
		if grantErr != nil || offerID == nil {
			if grantErr == nil {
				grantErr = errorf(CodeInvalidGrant, "authorization code is invalid")
			}
			return nil
		}
		typeID, credID, _, err := tx.offerGrant(ctx, *offerID)
		if err != nil {
			return err
		}
		ok, err = tx.redeemOffer(ctx, *offerID, now.Unix())
		if err != nil {
			return err
		}
		if !ok {
			grantErr = errorf(CodeInvalidGrant, "the credential of this authorization was already redeemed")
			return nil
		}
		resp = s.grant(slug, *offerID, typeID, credID, req.DPoPKey, now)
		return s.audit(ctx, tx, slug, "wallet", "authz.redeem", *offerID, "")
	})
	if err != nil {
		return nil, err
	}
	if grantErr != nil {
		return nil, grantErr
	}
	return resp, nil
}
