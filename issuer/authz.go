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
	"log/slog"
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
	// CodeSessionMismatch: the browser that came back from the wallet is
	// not the one that opened the authorization page, or its
	// response_code is not the one the wallet was given. The
	// authorization fails (no second try).
	CodeSessionMismatch Code = "session_mismatch"
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
//
// The presentation is same-device (OpenID4VP 1.0 §8.2): after a
// successful presentation the wallet is given returnTo with a fresh
// response_code, and opens it in the user agent; only that user agent can
// finish the authorization. This is the defence against session fixation
// (OpenID4VP 1.0, Security Considerations, "Session Fixation"): whoever merely holds the authorization page sees
// that the citizen presented, never the code.
type Authenticator interface {
	// Start begins an authentication for an agency and returns the
	// session's id and the request URI a wallet answers
	// (openid4vp://...). After an accepted presentation the wallet MUST
	// be sent to returnTo with a response_code query parameter, fresh
	// and unguessable, which is given to no one else.
	Start(ctx context.Context, agency, returnTo string) (session, requestURI string, err error)
	// Subject returns the verified subject (the SubjectClaim value) of a
	// finished session whose wallet was given responseCode. It MUST
	// return ErrAuthenticationPending while the citizen has not answered,
	// an error wrapping ErrAuthenticationFailed when the presentation
	// was refused or the session expired, and ErrResponseCode when the
	// presentation was accepted but responseCode is not its code
	// (compared in constant time; "" never matches).
	Subject(ctx context.Context, session, responseCode string) (string, error)
}

// Sentinels of Authenticator.Subject.
var (
	ErrAuthenticationPending = errors.New("issuer: authentication pending")
	ErrAuthenticationFailed  = errors.New("issuer: authentication failed")
	ErrResponseCode          = errors.New("issuer: response code does not match")
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
	binding    string
}

// Binding is the secret that ties the authorization to the user agent
// that opened the authorization page (the endpoint sets it as a cookie);
// FinishAuthorization wants it back.
func (a *Authorization) Binding() string { return a.binding }

// String names the authorization without its binding.
func (a *Authorization) String() string { return "authorization " + a.ID }

// LogValue logs the authorization without its binding.
func (a *Authorization) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", a.ID), slog.String("type", a.TypeID))
}

// ReturnPath is where, under the agency's issuer URL, the citizen's user
// agent comes back from the wallet: IssuerURL + "/authorize/" + id +
// ReturnPath, with the response_code the wallet was given.
const ReturnPath = "/done"

// Authorize takes the authorization endpoint's client_id and request_uri,
// spends the request_uri and starts the citizen's authentication.
//
// Spec: RFC 9126 §4: "the authorization server SHOULD treat request_uri
// values as one-time use"; §2.1 and RFC 6749: the client_id must be the
// one that pushed the request.
func (s *Service) Authorize(ctx context.Context, slug, clientID, requestURI string) (*Authorization, error) {
	a, err := s.Agency(ctx, slug)
	if err != nil {
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
	ok, err = s.st.startAuthentication(ctx, id, slug, clientID, now.Unix(), now.Add(AuthenticationTTL).Unix())
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
	sess, reqURI, err := s.cfg.Authenticator.Start(ctx, slug, a.IssuerURL+"/authorize/"+id+ReturnPath)
	if err != nil {
		return nil, err
	}
	if err := s.st.setAuthzSession(ctx, id, sess, reqURI); err != nil {
		return nil, err
	}
	return &Authorization{ID: id, RequestURI: reqURI, TypeID: typeID, binding: s.authzBinding(slug, id)}, nil
}

// authzBinding is an authorization's user-agent binding: an HMAC of its
// id, so that nothing more is stored, and only the user agent that was
// given it (by Authorize) has it.
func (s *Service) authzBinding(slug, id string) string {
	m := hmac.New(sha256.New, s.macKey)
	m.Write([]byte("authz-binding\x00" + slug + "\x00" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
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
	// Presented: the citizen presented and the verifier accepted; the
	// code goes only to the user agent their wallet sends back
	// (FinishAuthorization), never to this page.
	Presented bool
}

// PollAuthorization is the authorization page's view of an
// authorization: Pending while the citizen has not presented, Presented
// once the verifier accepted their presentation (the page learns nothing
// more, and no code), and the redirect to the client with
// error=access_denied when the presentation was refused or the citizen
// did not present in time.
func (s *Service) PollAuthorization(ctx context.Context, slug, id string) (*AuthorizationResult, error) {
	f, err := s.openAuthz(ctx, slug, id)
	if err != nil {
		return nil, err
	}
	if s.cfg.Now().Unix() >= f.r.ExpiresAt {
		return f.deny(ctx, "the citizen did not present in time")
	}
	_, err = s.cfg.Authenticator.Subject(ctx, *f.r.Session, "")
	switch {
	case errors.Is(err, ErrAuthenticationPending):
		var presentation string
		if f.r.Presentation != nil {
			presentation = *f.r.Presentation
		}
		return &AuthorizationResult{Pending: true, PresentationURI: presentation}, nil
	case errors.Is(err, ErrAuthenticationFailed):
		return f.deny(ctx, "the presentation of the identity credential was not accepted")
	case errors.Is(err, ErrResponseCode), err == nil:
		return &AuthorizationResult{Presented: true}, nil
	}
	return nil, err
}

// FinishAuthorization is the user agent's return from the wallet
// (OpenID4VP 1.0 §8.2) with binding, the secret Authorize gave the user
// agent that opened the page, and the response_code the wallet was
// given. Only when both match (each compared in constant time) is the
// offer staged for the citizen (same agency, type, and subject) bound to
// a new authorization code, and the result is the redirect to the client:
// redirect_uri?code=...&state=...&iss=... (RFC 6749 §4.1.2, RFC 9207 §2),
// or ?error=access_denied&state=... when no offer waits for the citizen,
// the presentation failed or the wait expired. A binding or
// response_code that does not match fails the authorization with
// CodeSessionMismatch; a finished authorization is CodeNotFound.
//
// Spec: OpenID4VP 1.0 #name-session-fixation: the response
// code is checked by the party the user agent returns to, and the user
// agent must be the one that started the flow, so that a citizen who
// scans an attacker's page completes nothing for the attacker.
func (s *Service) FinishAuthorization(ctx context.Context, slug, id, binding, responseCode string) (*AuthorizationResult, error) {
	f, err := s.openAuthz(ctx, slug, id)
	if err != nil {
		return nil, err
	}
	mismatch := func(desc string) (*AuthorizationResult, error) {
		if err := s.st.failAuthz(ctx, id); err != nil {
			return nil, err
		}
		return nil, errorf(CodeSessionMismatch, "%s; start again from your wallet", desc)
	}
	if len(binding) > 128 || subtle.ConstantTimeCompare([]byte(binding), []byte(s.authzBinding(slug, id))) != 1 {
		return mismatch("this browser is not the one that opened the authorization page")
	}
	now := s.cfg.Now()
	if now.Unix() >= f.r.ExpiresAt {
		return f.deny(ctx, "the citizen did not present in time")
	}
	if len(responseCode) > 128 {
		responseCode = ""
	}
	subject, err := s.cfg.Authenticator.Subject(ctx, *f.r.Session, responseCode)
	switch {
	case errors.Is(err, ErrAuthenticationPending), errors.Is(err, ErrResponseCode):
		return mismatch("the response_code is not the one the wallet was given")
	case errors.Is(err, ErrAuthenticationFailed):
		return f.deny(ctx, "the presentation of the identity credential was not accepted")
	case err != nil:
		return nil, err
	}
	offerID, err := s.st.offerForSubject(ctx, s.subjectMAC(slug, subject), slug, f.r.TypeID, now.Unix())
	if errors.Is(err, errNoRecord) {
		return f.deny(ctx, "the agency has no credential of this type waiting for this citizen")
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
	return &AuthorizationResult{RedirectTo: withQuery(f.r.RedirectURI, url.Values{"code": {code}, "state": {f.r.State}, "iss": {f.issuer}})}, nil
}

// openAuthz reads an authorization that is waiting for its citizen.
type openAuthz struct {
	s      *Service
	r      *authzRecord
	issuer string
}

func (s *Service) openAuthz(ctx context.Context, slug, id string) (*openAuthz, error) {
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
	return &openAuthz{s: s, r: r, issuer: a.IssuerURL}, nil
}

// deny fails the authorization and sends the user agent back to the
// client with access_denied.
func (f *openAuthz) deny(ctx context.Context, desc string) (*AuthorizationResult, error) {
	if err := f.s.st.failAuthz(ctx, f.r.ID); err != nil {
		return nil, err
	}
	return &AuthorizationResult{RedirectTo: withQuery(f.r.RedirectURI, url.Values{"error": {string(CodeAccessDenied)}, "error_description": {desc}, "state": {f.r.State}, "iss": {f.issuer}})}, nil
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
