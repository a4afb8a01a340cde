// Package oid4vci is the issuer's HTTP face: the OpenID4VCI 1.0 endpoints
// a wallet calls (metadata, offer by reference, pushed authorization
// request, authorization page, token, nonce, credential, deferred
// credential, notification), the agency's JWT VC Issuer Metadata
// and status lists, and the staff API agencies use to offer, revoke,
// suspend and audit.
//
// Handlers are thin: decode, call package issuer, encode. docs/api.md
// lists every route.
package oid4vci

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/credential/vciwire"
	"github.com/tongid/tong/internal/httpx"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/qr"
	"github.com/tongid/tong/issuer"
)

// Body limits.
const (
	MaxTokenBody      = 4 << 10
	MaxCredentialBody = 64 << 10
	MaxStaffBody      = 512 << 10 // claims may hold a portrait
)

// Prefixes are the path patterns web mounts the API under.
var Prefixes = []string{
	"/issuers/*",
	"/.well-known/openid-credential-issuer/*",
	"/.well-known/oauth-authorization-server/*",
	"/.well-known/jwt-vc-issuer/*",
	"/issuer-api/*",
}

// API serves one issuer.Service.
type API struct {
	svc *issuer.Service
}

// New returns the API of svc.
func New(svc *issuer.Service) *API { return &API{svc: svc} }

// Routes returns the handler for every issuer route.
func (a *API) Routes() http.Handler {
	r := chi.NewRouter()
	r.NotFound(httpx.NotFound)
	r.MethodNotAllowed(httpx.MethodNotAllowed)
	// The endpoints a wallet calls are readable from any origin, so that a
	// wallet web app hosted elsewhere works; the staff API is not.
	pub := &httpx.PublicRoutes{R: r}
	pub.Handle(http.MethodGet, "/.well-known/openid-credential-issuer/issuers/{agency}", a.issuerMetadata)
	pub.Handle(http.MethodGet, "/.well-known/oauth-authorization-server/issuers/{agency}", a.asMetadata)
	pub.Handle(http.MethodGet, "/.well-known/jwt-vc-issuer/issuers/{agency}", a.jwtVCIssuer)
	r.Get("/issuer-api/agency", a.tokenAgency)
	r.Route("/issuers/{agency}", func(r chi.Router) {
		pub := &httpx.PublicRoutes{R: r}
		pub.Handle(http.MethodGet, "/offers/{offer}", a.offer)
		pub.Handle(http.MethodPost, "/token", a.token)
		pub.Handle(http.MethodPost, "/par", a.par)
		r.Get("/authorize", a.authorize)
		r.Get("/authorize/{authz}", a.authzStatus)
		r.Get("/authorize/{authz}"+issuer.ReturnPath, a.authzDone)
		pub.Handle(http.MethodPost, "/nonce", a.nonce)
		pub.Handle(http.MethodPost, "/credential", a.credential)
		pub.Handle(http.MethodPost, "/deferred_credential", a.deferred)
		pub.Handle(http.MethodPost, "/notification", a.notification)
		pub.Handle(http.MethodGet, "/status/{list}", a.statusList)
		r.Route("/api", func(r chi.Router) {
			r.Use(a.staffAuth)
			r.Get("/types", a.listTypes)
			r.Put("/types/{type}", a.putType)
			r.Post("/offers", a.createOffer)
			r.Get("/offers/{offer}/qr.png", a.offerQR)
			r.Get("/credentials/{credential}", a.credentialInfo)
			r.Post("/credentials/{credential}/{action}", a.credentialAction)
			r.Get("/audit", a.audit)
			r.Post("/tokens", a.createToken)
			r.Delete("/tokens/{token}", a.revokeToken)
		})
	})
	return r
}

func (a *API) agency(w http.ResponseWriter, r *http.Request) (*issuer.Agency, bool) {
	ag, err := a.svc.Agency(r.Context(), chi.URLParam(r, "agency"))
	if err != nil {
		fail(w, r, err)
		return nil, false
	}
	return ag, true
}

// The Credential Issuer Metadata (OpenID4VCI §12.2.4) and its parts.
type (
	IssuerMetadata          = vciwire.IssuerMetadata
	BatchIssuance           = vciwire.BatchCredentialIssuance
	CredentialConfiguration = vciwire.CredentialConfiguration
	ProofType               = vciwire.ProofType
	CredentialMetadata      = vciwire.CredentialMetadata
	ClaimMetadata           = vciwire.ClaimDescription
)

// Metadata builds an agency's Credential Issuer Metadata.
func Metadata(ctx context.Context, svc *issuer.Service, ag *issuer.Agency) (*IssuerMetadata, error) {
	types, err := svc.Types(ctx, ag.Slug)
	if err != nil {
		return nil, err
	}
	base := ag.IssuerURL
	m := &IssuerMetadata{
		CredentialIssuer:                  base,
		CredentialEndpoint:                base + "/credential",
		NonceEndpoint:                     base + "/nonce",
		DeferredCredentialEndpoint:        base + "/deferred_credential",
		NotificationEndpoint:              base + "/notification",
		Display:                           []vciwire.Display{{Name: ag.Name, Locale: "en"}},
		CredentialConfigurationsSupported: map[string]CredentialConfiguration{},
	}
	if n := svc.BatchSize(); n >= 2 {
		m.BatchCredentialIssuance = &BatchIssuance{BatchSize: n}
	}
	for id, t := range types {
		claims := make([]ClaimMetadata, len(t.Claims))
		for i, c := range t.Claims {
			path := make([]any, len(c.Path))
			for j, p := range c.Path {
				path[j] = p
			}
			claims[i] = ClaimMetadata{Path: path, Mandatory: c.Mandatory, Display: wireDisplays(c.Display)}
		}
		m.CredentialConfigurationsSupported[id] = CredentialConfiguration{
			Format:                               credential.TypSDJWTVC,
			Scope:                                id,
			VCT:                                  t.VCT,
			CryptographicBindingMethodsSupported: []string{"jwk"},
			CredentialSigningAlgValuesSupported:  []any{ag.Signer().Alg()},
			ProofTypesSupported:                  map[string]ProofType{vciwire.ProofTypeJWT: {ProofSigningAlgValuesSupported: issuer.ProofSigningAlgs}},
			CredentialMetadata:                   CredentialMetadata{Display: wireDisplays(t.Display), Claims: claims},
		}
	}
	return m, nil
}

// wireDisplays gives a credential type's display names as metadata
// display objects.
func wireDisplays(ds []issuer.Display) []vciwire.Display {
	if ds == nil {
		return nil
	}
	out := make([]vciwire.Display, len(ds))
	for i, d := range ds {
		out[i] = vciwire.Display{Name: d.Name, Locale: d.Locale, Description: d.Description}
	}
	return out
}

func (a *API) issuerMetadata(w http.ResponseWriter, r *http.Request) {
	ag, ok := a.agency(w, r)
	if !ok {
		return
	}
	m, err := Metadata(r.Context(), a.svc, ag)
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpx.WriteJSON(w, r, http.StatusOK, m)
}

// ASMetadata is the OAuth 2.0 Authorization Server Metadata (RFC 8414,
// OpenID4VCI §12.3) of an agency, which is its own authorization server.
type ASMetadata = vciwire.ASMetadata

func (a *API) asMetadata(w http.ResponseWriter, r *http.Request) {
	ag, ok := a.agency(w, r)
	if !ok {
		return
	}
	m := ASMetadata{
		Issuer:                            ag.IssuerURL,
		TokenEndpoint:                     ag.IssuerURL + "/token",
		ResponseTypesSupported:            []string{}, // no authorization endpoint: pre-authorized code only
		GrantTypesSupported:               []string{issuer.GrantPreAuthorizedCode, issuer.GrantRefreshToken},
		TokenEndpointAuthMethodsSupported: []string{"none"},
		PreAuthorizedGrantAnonymousAccess: true,
		DPoPSigningAlgValuesSupported:     issuer.ProofSigningAlgs,
	}
	if a.svc.AuthorizationFlow() {
		// Spec: RFC 8414 §2, RFC 9126 §5 (pushed_authorization_request_endpoint,
		// require_pushed_authorization_requests), RFC 7636 / RFC 8414
		// (code_challenge_methods_supported), RFC 9396 §10
		// (authorization_details_types_supported), RFC 9207 §3.
		m.AuthorizationEndpoint = ag.IssuerURL + "/authorize"
		m.PushedAuthorizationRequestEndpoint = ag.IssuerURL + "/par"
		m.RequirePushedAuthorizationRequests = true
		m.CodeChallengeMethodsSupported = []string{issuer.PKCEMethodS256}
		m.AuthorizationDetailsTypesSupported = []string{issuer.AuthorizationDetailsType}
		m.AuthorizationResponseISSSupported = true
		m.ResponseTypesSupported = []string{"code"}
		m.GrantTypesSupported = []string{issuer.GrantAuthorizationCode, issuer.GrantPreAuthorizedCode, issuer.GrantRefreshToken}
	}
	if a.svc.ClientAttestation() {
		m.TokenEndpointAuthMethodsSupported = []string{"none", issuer.AuthMethodAttestJWT}
		m.ClientAttestationSigningAlgs = issuer.ProofSigningAlgs
		m.ClientAttestationPoPSigningAlgs = issuer.ProofSigningAlgs
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpx.WriteJSON(w, r, http.StatusOK, m)
}

func (a *API) jwtVCIssuer(w http.ResponseWriter, r *http.Request) {
	ag, ok := a.agency(w, r)
	if !ok {
		return
	}
	jwk, err := jose.PublicJWK(ag.Signer().Public())
	if err != nil {
		fail(w, r, err)
		return
	}
	jwk.Kid, jwk.Alg, jwk.Use = ag.KeyID, ag.Signer().Alg(), "sig"
	w.Header().Set("Cache-Control", "public, max-age=300")
	httpx.WriteJSON(w, r, http.StatusOK, map[string]any{"issuer": ag.IssuerURL, "jwks": map[string]any{"keys": []jose.JWK{jwk}}})
}

func (a *API) offer(w http.ResponseWriter, r *http.Request) {
	o, err := a.svc.CredentialOfferObject(r.Context(), chi.URLParam(r, "agency"), chi.URLParam(r, "offer"))
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, r, http.StatusOK, o)
}

// dpop verifies the request's DPoP proof, if any. htu is the endpoint's
// public URL, built from the agency's issuer URL rather than the Host
// header.
func (a *API) dpop(r *http.Request, htu, accessToken string) (*issuer.DPoP, error) {
	proofs := r.Header.Values("DPoP")
	switch len(proofs) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, &issuer.Error{Code: issuer.CodeInvalidDPoPProof, Description: "more than one DPoP header"}
	}
	d, err := a.svc.VerifyDPoP(proofs[0], r.Method, htu, accessToken)
	if err != nil {
		return nil, err
	}
	if err := a.svc.SpendDPoP(r.Context(), d); err != nil {
		return nil, err
	}
	return d, nil
}

func (a *API) token(w http.ResponseWriter, r *http.Request) {
	ag, ok := a.agency(w, r)
	if !ok {
		return
	}
	if err := httpx.ParseForm(w, r, MaxTokenBody); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if mt := r.Header.Get("Content-Type"); !strings.HasPrefix(mt, "application/x-www-form-urlencoded") {
		fail(w, r, &issuer.Error{Code: issuer.CodeInvalidRequest, Description: "the token request must be application/x-www-form-urlencoded"})
		return
	}
	if err := a.clientAttestation(r, ag, r.PostForm.Get("client_id")); err != nil {
		fail(w, r, err)
		return
	}
	d, err := a.dpop(r, ag.IssuerURL+"/token", "")
	if err != nil {
		fail(w, r, err)
		return
	}
	f := r.PostForm
	req := issuer.TokenRequest{
		GrantType:         f.Get(vciwire.ParamGrantType),
		PreAuthorizedCode: f.Get(vciwire.ParamPreAuthorizedCode),
		TxCode:            f.Get(vciwire.ParamTxCode),
		TxCodeSent:        f.Has(vciwire.ParamTxCode),
		RefreshToken:      f.Get(vciwire.ParamRefreshToken),
		Code:              f.Get(vciwire.ParamCode),
		CodeVerifier:      f.Get(vciwire.ParamCodeVerifier),
		RedirectURI:       f.Get(vciwire.ParamRedirectURI),
		ClientID:          f.Get(vciwire.ParamClientID),
	}
	for _, k := range []string{vciwire.ParamGrantType, vciwire.ParamPreAuthorizedCode, vciwire.ParamTxCode, vciwire.ParamRefreshToken,
		vciwire.ParamCode, vciwire.ParamCodeVerifier, vciwire.ParamRedirectURI, vciwire.ParamClientID} {
		if len(r.PostForm[k]) > 1 {
			fail(w, r, &issuer.Error{Code: issuer.CodeInvalidRequest, Description: k + " is repeated"})
			return
		}
	}
	if d != nil {
		req.DPoPKey = d.JKT
	}
	resp, err := a.svc.Token(r.Context(), ag.Slug, req)
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, r, http.StatusOK, resp)
}

func (a *API) nonce(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.agency(w, r); !ok {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, r, http.StatusOK, vciwire.NonceResponse{CNonce: a.svc.Nonce()})
}

// bearer reads the access token and checks the DPoP proof bound to it.
func (a *API) bearer(r *http.Request, htu string) (token, jkt string, err error) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || tok == "" || (!strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "DPoP")) {
		return "", "", &issuer.Error{Code: issuer.CodeInvalidToken, Description: "an access token is required (Authorization: Bearer or DPoP)"}
	}
	d, err := a.dpop(r, htu, tok)
	if err != nil {
		var ie *issuer.Error
		if errors.As(err, &ie) && ie.Code == issuer.CodeInvalidDPoPProof {
			return "", "", &issuer.Error{Code: issuer.CodeInvalidToken, Description: ie.Description}
		}
		return "", "", err
	}
	if strings.EqualFold(scheme, "DPoP") && d == nil {
		return "", "", &issuer.Error{Code: issuer.CodeInvalidToken, Description: "a DPoP access token needs a DPoP proof"}
	}
	if d != nil {
		jkt = d.JKT
	}
	return tok, jkt, nil
}

func (a *API) credential(w http.ResponseWriter, r *http.Request) {
	ag, ok := a.agency(w, r)
	if !ok {
		return
	}
	tok, jkt, err := a.bearer(r, ag.IssuerURL+"/credential")
	if err != nil {
		fail(w, r, err)
		return
	}
	var req issuer.CredentialRequest
	if err := httpx.ReadJSONLimit(w, r, MaxCredentialBody, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	resp, status, err := a.svc.Credential(r.Context(), ag.Slug, tok, jkt, &req)
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, r, status, resp)
}

func (a *API) deferred(w http.ResponseWriter, r *http.Request) {
	ag, ok := a.agency(w, r)
	if !ok {
		return
	}
	tok, jkt, err := a.bearer(r, ag.IssuerURL+"/deferred_credential")
	if err != nil {
		fail(w, r, err)
		return
	}
	var req issuer.DeferredRequest
	if err := httpx.ReadJSONLimit(w, r, MaxTokenBody, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	resp, status, err := a.svc.Deferred(r.Context(), ag.Slug, tok, jkt, req.TransactionID)
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, r, status, resp)
}

func (a *API) notification(w http.ResponseWriter, r *http.Request) {
	ag, ok := a.agency(w, r)
	if !ok {
		return
	}
	tok, jkt, err := a.bearer(r, ag.IssuerURL+"/notification")
	if err != nil {
		fail(w, r, err)
		return
	}
	var req issuer.NotificationRequest
	if err := httpx.ReadJSONLimit(w, r, MaxTokenBody, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if err := a.svc.Notify(r.Context(), ag.Slug, tok, jkt, req); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ContentTypeStatusList is the media type of a Status List Token.
const ContentTypeStatusList = "application/statuslist+jwt"

func (a *API) statusList(w http.ResponseWriter, r *http.Request) {
	tok, err := a.svc.StatusListToken(r.Context(), chi.URLParam(r, "agency"), chi.URLParam(r, "list"))
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ContentTypeStatusList)
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(a.svc.StatusTTL()/time.Second)))
	w.Header().Set("Content-Length", strconv.Itoa(len(tok)))
	// The token is the service's cached string: it is written as it is,
	// never copied per request, so slow readers share one copy.
	_, _ = io.WriteString(w, tok)
}

// --- staff API ---

type actorKey struct{}

// staffAuth requires an agency API token: Authorization: Bearer tong_at_...
func (a *API) staffAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			fail(w, r, &issuer.Error{Code: issuer.CodeUnauthorized, Description: "an agency API token is required (Authorization: Bearer tong_at_...)"})
			return
		}
		id, err := a.svc.Authenticate(r.Context(), chi.URLParam(r, "agency"), tok)
		if err != nil {
			fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, id)))
	})
}

// tokenAgency tells a staff client which agency its token is for, so the
// CLI needs only the server URL and the token.
func (a *API) tokenAgency(w http.ResponseWriter, r *http.Request) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	slug, _, err := a.svc.TokenAgency(r.Context(), tok)
	if err != nil {
		fail(w, r, err)
		return
	}
	ag, err := a.svc.Agency(r.Context(), slug)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, r, http.StatusOK, ag)
}

func actor(r *http.Request) string { s, _ := r.Context().Value(actorKey{}).(string); return s }

func (a *API) listTypes(w http.ResponseWriter, r *http.Request) {
	ts, err := a.svc.Types(r.Context(), chi.URLParam(r, "agency"))
	if err != nil {
		fail(w, r, err)
		return
	}
	out := make([]*issuer.CredentialType, 0, len(ts))
	for _, t := range ts {
		out = append(out, t)
	}
	httpx.WriteJSON(w, r, http.StatusOK, map[string]any{"types": out})
}

func (a *API) putType(w http.ResponseWriter, r *http.Request) {
	body, err := httpx.ReadBody(w, r, MaxStaffBody)
	if err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	t, err := issuer.ParseType(body)
	if err != nil {
		fail(w, r, err)
		return
	}
	if t.ID != chi.URLParam(r, "type") {
		fail(w, r, &issuer.Error{Code: issuer.CodeInvalidType, Description: "the type's id must match the URL"})
		return
	}
	if err := a.svc.PutType(r.Context(), chi.URLParam(r, "agency"), actor(r), t); err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, r, http.StatusOK, t)
}

// OfferResponse is the staff API's answer to a new offer.
type OfferResponse struct {
	*issuer.Offer
	QRPNG string `json:"qr_png"` // URL of the QR code image (staff only)
}

func (a *API) createOffer(w http.ResponseWriter, r *http.Request) {
	var req issuer.OfferRequest
	if err := httpx.ReadJSONLimit(w, r, MaxStaffBody, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	slug := chi.URLParam(r, "agency")
	o, err := a.svc.CreateOffer(r.Context(), slug, actor(r), req)
	if err != nil {
		fail(w, r, err)
		return
	}
	ag, _ := a.svc.Agency(r.Context(), slug)
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, r, http.StatusCreated, OfferResponse{Offer: o, QRPNG: ag.IssuerURL + "/api/offers/" + o.ID + "/qr.png"})
}

func (a *API) offerQR(w http.ResponseWriter, r *http.Request) {
	ag, ok := a.agency(w, r)
	if !ok {
		return
	}
	id := chi.URLParam(r, "offer")
	if _, err := a.svc.CredentialOfferObject(r.Context(), ag.Slug, id); err != nil {
		fail(w, r, err)
		return
	}
	png, err := qr.PNG(issuer.OfferURI(ag.IssuerURL+"/offers/"+id), 360)
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(png)
}

func (a *API) credentialInfo(w http.ResponseWriter, r *http.Request) {
	c, err := a.svc.CredentialInfo(r.Context(), chi.URLParam(r, "agency"), chi.URLParam(r, "credential"))
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, r, http.StatusOK, c)
}

func (a *API) credentialAction(w http.ResponseWriter, r *http.Request) {
	slug, id := chi.URLParam(r, "agency"), chi.URLParam(r, "credential")
	var status string
	switch chi.URLParam(r, "action") {
	case "revoke":
		status = issuer.StatusRevoked
	case "suspend":
		status = issuer.StatusSuspended
	case "unsuspend":
		status = issuer.StatusValid
	case "approve":
		if err := a.svc.Approve(r.Context(), slug, actor(r), id); err != nil {
			fail(w, r, err)
			return
		}
		httpx.WriteJSON(w, r, http.StatusOK, map[string]string{"credential_id": id, "approved_by": actor(r)})
		return
	default:
		httpx.NotFound(w, r)
		return
	}
	c, err := a.svc.SetStatus(r.Context(), slug, actor(r), id, status)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, r, http.StatusOK, c)
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Label string `json:"label"`
	}
	if err := httpx.ReadJSONLimit(w, r, MaxTokenBody, &req); err != nil {
		httpx.WriteError(w, r, err)
		return
	}
	if req.Label == "" || len(req.Label) > 100 {
		fail(w, r, &issuer.Error{Code: issuer.CodeInvalidRequest, Description: "label must have 1 to 100 characters"})
		return
	}
	tok, id, err := a.svc.CreateAPIToken(r.Context(), chi.URLParam(r, "agency"), actor(r), req.Label)
	if err != nil {
		fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, r, http.StatusCreated, map[string]string{"id": id, "token": tok, "label": req.Label})
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.RevokeAPIToken(r.Context(), chi.URLParam(r, "agency"), actor(r), chi.URLParam(r, "token")); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) audit(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	es, err := a.svc.Audit(r.Context(), chi.URLParam(r, "agency"), limit)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, r, http.StatusOK, map[string]any{"entries": es})
}
