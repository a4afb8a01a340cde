package vpwire

import (
	"encoding/json"
	"net/url"
)

// Media types, header values and identifiers of OpenID4VP 1.0.
const (
	// TypRequestObject is the typ header of a Request Object.
	// Spec: OpenID4VP 1.0 §5 (#vp_token_request): "Verifiers MUST include
	// the typ Header Parameter in Request Objects with the value
	// oauth-authz-req+jwt".
	TypRequestObject = "oauth-authz-req+jwt"
	// MediaTypeRequestObject is the content type of the Request URI
	// response. Spec: §5.10.1: "the content type
	// application/oauth-authz-req+jwt".
	MediaTypeRequestObject = "application/" + TypRequestObject
	// SelfIssuedAudience is the aud of a Request Object under static
	// discovery. Spec: §5.8 and §13.1.2 (#openid4vp-scheme).
	SelfIssuedAudience = "https://self-issued.me/v2"
	// SchemeOpenID4VP is the custom URL scheme bound to the static
	// configuration values of §13.1.2.
	SchemeOpenID4VP = "openid4vp://"

	// ResponseTypeVPToken asks for a VP Token in the Authorization
	// Response (§5.6, #response_type_vp_token).
	ResponseTypeVPToken = "vp_token"
	// ResponseModeDirectPost sends the response in an HTTP POST to
	// response_uri (§8.2, #response_mode_post).
	ResponseModeDirectPost = "direct_post"
	// ResponseModeDirectPostJWT is direct_post with the response
	// encrypted to the Verifier (§8.3.1, #direct_post_jwt).
	ResponseModeDirectPostJWT = "direct_post.jwt"

	// RequestURIMethodGet and RequestURIMethodPost are the values of
	// request_uri_method. Spec: §5.1: "Two case-sensitive valid values are
	// defined in this specification: get and post."
	RequestURIMethodGet  = "get"
	RequestURIMethodPost = "post"

	// Client Identifier Prefixes (§5.9.3, #client_identifier_prefixes)
	// that Tong speaks, each with its separating colon.
	PrefixDecentralizedIdentifier = "decentralized_identifier:"
	PrefixRedirectURI             = "redirect_uri:"
	PrefixX509Hash                = "x509_hash:"

	// FormatSDJWTVC is the Credential Format Identifier of IETF SD-JWT VC
	// (Appendix B.3.1), the key of its vp_formats_supported entry.
	FormatSDJWTVC = "dc+sd-jwt"
	// DefaultResponseEnc is the JWE enc of an encrypted response when
	// client_metadata lists none. Spec: §8.3: "allowing for the default
	// value of A128GCM when not explicitly set."
	DefaultResponseEnc = "A128GCM"
)

// Parameter names of the Authorization Request in a URL query and of the
// Authorization Response in a form body (application/x-www-form-urlencoded).
const (
	ParamClientID         = "client_id"          // §5.2
	ParamRequest          = "request"            // RFC 9101 §5.1
	ParamRequestURI       = "request_uri"        // RFC 9101 §5.2
	ParamRequestURIMethod = "request_uri_method" // §5.1
	ParamResponseType     = "response_type"      // RFC 6749 §3.1.1
	ParamResponseMode     = "response_mode"      // §5.2
	ParamResponseURI      = "response_uri"       // §8.2
	ParamRedirectURI      = "redirect_uri"       // RFC 6749 §3.1.2
	ParamNonce            = "nonce"              // §5.2
	ParamState            = "state"              // §5.2
	ParamDCQLQuery        = "dcql_query"         // §5.1, a JSON-serialized string in a URL
	ParamClientMetadata   = "client_metadata"    // §5.1, a JSON-serialized string in a URL
	ParamTransactionData  = "transaction_data"   // §5.1
	ParamVPToken          = "vp_token"           // §8.1, a JSON-serialized string in a form
	ParamResponse         = "response"           // §8.3.1, the JWE of direct_post.jwt
	ParamError            = "error"              // §8.5, RFC 6749 §4.1.2.1
	ParamErrorDescription = "error_description"  // §8.5, RFC 6749 §4.1.2.1
	ParamWalletMetadata   = "wallet_metadata"    // §5.10, in the Request URI POST body
	ParamWalletNonce      = "wallet_nonce"       // §5.10, in the Request URI POST body
)

// Members of a transaction_data object (§5.1) and of the Key Binding JWT
// that answers it (Appendix B.3.3).
const (
	TransactionDataType          = "type"
	TransactionDataCredentialIDs = "credential_ids"
	// KBTransactionDataHashes and KBTransactionDataHashesAlg are
	// top-level members of an SD-JWT VC's KB-JWT. Spec: Appendix B.3.3:
	// "transaction_data_hashes: A non-empty array of strings where each
	// element is a base64url-encoded hash."
	KBTransactionDataHashes    = "transaction_data_hashes"
	KBTransactionDataHashesAlg = "transaction_data_hashes_alg"
)

// PurposeClaim is Tong's extension member of the Request Object naming
// the purpose the Verifier asks for ("pay-fee"); the wallet checks the
// Verifier's accreditation for it in the registry. It is no part of
// OpenID4VP, whose Wallets "MUST ignore any unrecognized parameters" (§5).
const PurposeClaim = "tong_purpose"

// AuthorizationRequest is the Authorization Request as a URL query when
// the Request Object is passed by reference, as Tong's QR codes carry it:
// openid4vp://?client_id=...&request_uri=...
//
// Spec: §5.2: "client_id: REQUIRED."; §5.1: "request_uri_method
// parameter MUST NOT be present if a request_uri parameter is not
// present."
type AuthorizationRequest struct {
	ClientID         string
	RequestURI       string
	RequestURIMethod string // "", get or post
	// Request is a Request Object by value (RFC 9101 §5.1).
	Request string
}

// ParseAuthorizationRequest reads the parameters of q.
func ParseAuthorizationRequest(q url.Values) AuthorizationRequest {
	return AuthorizationRequest{
		ClientID:         q.Get(ParamClientID),
		RequestURI:       q.Get(ParamRequestURI),
		RequestURIMethod: q.Get(ParamRequestURIMethod),
		Request:          q.Get(ParamRequest),
	}
}

// Values is r as URL query parameters; empty members are left out.
func (r AuthorizationRequest) Values() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{ParamClientID: r.ClientID, ParamRequestURI: r.RequestURI,
		ParamRequestURIMethod: r.RequestURIMethod, ParamRequest: r.Request} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// URI is r appended to base (such as [SchemeOpenID4VP]) as a query.
func (r AuthorizationRequest) URI(base string) string {
	return base + "?" + r.Values().Encode()
}

// RequestObject is the payload of a signed Request Object (JAR, RFC 9101)
// carrying the Authorization Request parameters of OpenID4VP 1.0 §5, as
// the Verifier's request_uri returns it.
//
// Spec: §5.10.1: "The Wallet MUST extract the set of Authorization Request
// parameters from the Request Object."
type RequestObject struct {
	// Issuer is JAR's iss. Spec: §5: "the iss claim MAY be present in the
	// Request Object. However, if it is present, the Wallet MUST ignore
	// it."
	Issuer string `json:"iss,omitempty"`
	// Audience is the JWT aud (RFC 7519 §4.1.3); §5.8 and §13.1.2 set it
	// to [SelfIssuedAudience].
	Audience string `json:"aud,omitempty"`
	// IssuedAt and Expiry are JWT NumericDates (RFC 7519 §4.1.6, §4.1.4),
	// seconds since the epoch, which may have a fraction; 0 when absent.
	IssuedAt float64 `json:"iat,omitempty"`
	Expiry   float64 `json:"exp,omitempty"`

	// ClientID is the Client Identifier with its prefix (§5.2, §5.9).
	// Spec: §5.10.1: "The Client Identifier value in the client_id
	// Authorization Request parameter and the Request Object client_id
	// claim value MUST be identical, including the Client Identifier
	// Prefix."
	ClientID string `json:"client_id,omitempty"`
	// ResponseType is [ResponseTypeVPToken] (§5.6).
	ResponseType string `json:"response_type"`
	// ResponseMode is [ResponseModeDirectPost] or
	// [ResponseModeDirectPostJWT]. Spec: §5.2: "response_mode: REQUIRED."
	ResponseMode string `json:"response_mode,omitempty"`
	// ResponseURI is where the Wallet posts the response. Spec: §8.2:
	// "When the response_uri parameter is present, the redirect_uri
	// Authorization Request parameter MUST NOT be present."
	ResponseURI string `json:"response_uri,omitempty"`
	RedirectURI string `json:"redirect_uri,omitempty"`
	// Nonce binds the presentations to this request. Spec: §5.2: "nonce:
	// REQUIRED."
	Nonce string `json:"nonce"`
	// State is echoed in the response (§5.2, §8.2).
	State string `json:"state,omitempty"`
	// DCQLQuery is the DCQL query (§6) as JSON; package
	// credential/dcql parses it (dcql.Parse) with its limits. Spec: §5.1:
	// "A JSON object containing a DCQL query".
	DCQLQuery json.RawMessage `json:"dcql_query,omitempty"`
	// ClientMetadata is the Verifier's metadata (§5.1, §11).
	ClientMetadata *ClientMetadata `json:"client_metadata,omitempty"`
	// TransactionData are base64url-encoded JSON objects, each with at
	// least [TransactionDataType] and [TransactionDataCredentialIDs].
	// Spec: §5.1: "Non-empty array of strings, where each string is a
	// base64url-encoded JSON object".
	TransactionData []string `json:"transaction_data,omitempty"`
	// WalletNonce echoes the wallet_nonce of a Request URI POST. Spec:
	// §5.10: "the Verifier MUST use it as the wallet_nonce value in the
	// signed authorization request object."
	WalletNonce string `json:"wallet_nonce,omitempty"`

	// Purpose is Tong's extension, [PurposeClaim].
	Purpose string `json:"tong_purpose,omitempty"`
}

// ClientMetadata is the client_metadata request parameter: the Verifier's
// metadata (OpenID4VP 1.0 §5.1 and §11.1, RFC 7591 §2).
type ClientMetadata struct {
	// ClientName is the Verifier's display name (RFC 7591 §2): a claim,
	// not a proof.
	ClientName string `json:"client_name,omitempty"`
	// JWKS holds the Verifier's response encryption keys. Spec: §5.1:
	// "Each JWK in the set MUST have a kid (Key ID) parameter".
	JWKS *JWKS `json:"jwks,omitempty"`
	// EncryptedResponseEncValuesSupported are the JWE enc values the
	// Verifier accepts. Spec: §5.1: "this MUST be present for anything
	// other than the default single value of A128GCM."
	EncryptedResponseEncValuesSupported []string `json:"encrypted_response_enc_values_supported,omitempty"`
	// VPFormatsSupported maps a Credential Format Identifier (such as
	// [FormatSDJWTVC]) to its format-specific parameters (§11.1).
	VPFormatsSupported map[string]VPFormat `json:"vp_formats_supported,omitempty"`
}

// JWKS is a JSON Web Key Set (RFC 7517 §5). Each key is kept as its JSON
// text, for a JOSE library to parse.
type JWKS struct {
	Keys []json.RawMessage `json:"keys"`
}

// VPFormat is the format-specific Verifier metadata of an SD-JWT VC
// (Appendix B.3.4): the algorithms the Verifier accepts for the
// Issuer-signed JWT and for the Key Binding JWT.
type VPFormat struct {
	SDJWTAlgValues []string `json:"sd-jwt_alg_values,omitempty"`
	KBJWTAlgValues []string `json:"kb-jwt_alg_values,omitempty"`
}

// VPToken is the vp_token response parameter: for each Credential Query
// id of the DCQL query, the Presentations that answer it (an SD-JWT VC
// presentation is a string, Appendix B.3.6).
//
// Spec: §8.1: "a JSON-encoded object containing entries where the key is
// the id value used for a Credential Query in the DCQL query and the value
// is an array of one or more Presentations".
type VPToken map[string][]string

// Response is the Authorization Response of §8.1 with its state, as the
// payload of a direct_post.jwt JWE (§8.3: "the contents of the response
// ... as top-level JSON members") or, through [Response.Form], as a
// direct_post form body.
type Response struct {
	VPToken VPToken `json:"vp_token,omitempty"`
	State   string  `json:"state,omitempty"`
}

// Form is r as the body of a direct_post (§8.2): vp_token as its
// JSON-serialized string, and state when set.
func (r Response) Form() (url.Values, error) {
	tok, err := json.Marshal(r.VPToken)
	if err != nil {
		return nil, err
	}
	form := url.Values{ParamVPToken: {string(tok)}}
	if r.State != "" {
		form.Set(ParamState, r.State)
	}
	return form, nil
}

// ErrorResponse is an Authorization Error Response sent to response_uri
// (§8.5, RFC 6749 §4.1.2.1).
type ErrorResponse struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
	State            string `json:"state,omitempty"`
}

// Form is e as a direct_post form body.
func (e ErrorResponse) Form() url.Values {
	form := url.Values{ParamError: {e.Error}}
	if e.ErrorDescription != "" {
		form.Set(ParamErrorDescription, e.ErrorDescription)
	}
	if e.State != "" {
		form.Set(ParamState, e.State)
	}
	return form
}

// ResponseAnswer is the JSON object the Response URI returns to the
// Wallet with HTTP 200.
//
// Spec: §8.2: "redirect_uri: OPTIONAL. String containing a URI. When this
// parameter is present the Wallet MUST redirect the user agent to this
// URI." "The Wallet MUST ignore any unrecognized parameters."
type ResponseAnswer struct {
	RedirectURI string `json:"redirect_uri,omitempty"`
}
