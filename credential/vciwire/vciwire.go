package vciwire

import "encoding/json"

// Grant types (OpenID4VCI 1.0 §4.1.1, §6.1; RFC 6749 §4.1.3, §6).
const (
	GrantPreAuthorizedCode = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
)

// The Token Request's form parameters (§6.1, and RFC 6749 §4.1.3 and §6,
// RFC 7636 §4.5 for the authorization code and refresh token grants).
const (
	ParamGrantType         = "grant_type"
	ParamPreAuthorizedCode = "pre-authorized_code"
	ParamTxCode            = "tx_code"
	ParamRefreshToken      = "refresh_token"
	ParamCode              = "code"
	ParamCodeVerifier      = "code_verifier"
	ParamRedirectURI       = "redirect_uri"
	ParamClientID          = "client_id"
)

// AuthorizationDetailsType is the authorization_details type of §5.1.1.
const AuthorizationDetailsType = "openid_credential"

// ProofTypeJWT is the jwt proof type (Appendix F.1), the name of its
// member in proofs and proof_types_supported.
const ProofTypeJWT = "jwt"

// Notification events (§11.1).
const (
	EventCredentialAccepted = "credential_accepted"
	EventCredentialFailure  = "credential_failure"
	EventCredentialDeleted  = "credential_deleted"
)

// CredentialOffer is the Credential Offer object (§4.1.1), by value in
// credential_offer or fetched from credential_offer_uri.
type CredentialOffer struct {
	CredentialIssuer           string   `json:"credential_issuer"`
	CredentialConfigurationIDs []string `json:"credential_configuration_ids"`
	// Grants is keyed by grant type: GrantPreAuthorizedCode or
	// GrantAuthorizationCode. Spec: §4.1.1: "Every grant is represented by
	// a name/value pair. The name is the Grant Type identifier".
	Grants map[string]Grant `json:"grants"`
}

// Grant is one value of a Credential Offer's grants (§4.1.1): for
// urn:ietf:params:oauth:grant-type:pre-authorized_code, PreAuthorizedCode
// and TxCode; for authorization_code, IssuerState. AuthorizationServer is
// allowed in both.
type Grant struct {
	PreAuthorizedCode string `json:"pre-authorized_code,omitempty"`
	// TxCode is non-nil when the offer asks for a Transaction Code.
	// Spec: §4.1.1: "Object indicating that a Transaction Code is required
	// if present, even if empty."
	TxCode              *TxCode `json:"tx_code,omitempty"`
	IssuerState         string  `json:"issuer_state,omitempty"`
	AuthorizationServer string  `json:"authorization_server,omitempty"`
}

// TxCode is a pre-authorized code grant's tx_code object (§4.1.1).
type TxCode struct {
	// InputMode is numeric (the default when empty) or text.
	InputMode   string `json:"input_mode,omitempty"`
	Length      int    `json:"length,omitempty"`
	Description string `json:"description,omitempty"`
}

// UnmarshalJSON reads the members it can and never fails: the presence of
// tx_code is what obliges the wallet to send a Transaction Code, and its
// members are only hints for the input screen, so a malformed member (or a
// tx_code that is not an object) leaves the offer usable and the code
// still required.
func (t *TxCode) UnmarshalJSON(b []byte) error {
	type plain TxCode
	var p plain
	_ = json.Unmarshal(b, &p)
	*t = TxCode(p)
	return nil
}

// AuthorizationDetail is an authorization_details element of type
// openid_credential: in an authorization request (§5.1.1), Type and
// CredentialConfigurationID; in a Token Response (§6.2), also
// CredentialIdentifiers.
type AuthorizationDetail struct {
	Type                      string   `json:"type"`
	CredentialConfigurationID string   `json:"credential_configuration_id"`
	CredentialIdentifiers     []string `json:"credential_identifiers,omitempty"`
}

// TokenResponse is the Successful Token Response (§6.2, RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken          string                `json:"access_token"`
	TokenType            string                `json:"token_type"`
	ExpiresIn            int                   `json:"expires_in"`
	RefreshToken         string                `json:"refresh_token,omitempty"`
	AuthorizationDetails []AuthorizationDetail `json:"authorization_details,omitempty"`
}

// NonceResponse is the Nonce Response (§7.2).
type NonceResponse struct {
	CNonce string `json:"c_nonce"`
}

// CredentialRequest is the Credential Request (§8.2).
type CredentialRequest struct {
	CredentialConfigurationID string `json:"credential_configuration_id,omitempty"`
	CredentialIdentifier      string `json:"credential_identifier,omitempty"`
	// Proofs is the proofs object as sent ([Proofs] for the jwt type):
	// the issuer checks its shape itself, to tell a malformed object
	// from an unsupported proof type.
	Proofs json.RawMessage `json:"proofs,omitempty"`
	// Proof is the singular member of the pre-final drafts, not part of
	// 1.0; it is read only to be refused with a clear error.
	Proof                        json.RawMessage `json:"proof,omitempty"`
	CredentialResponseEncryption json.RawMessage `json:"credential_response_encryption,omitempty"`
}

// Proofs is a Credential Request's proofs object of the jwt proof type
// (§8.2, Appendix F.1): one openid4vci-proof+jwt per key.
type Proofs struct {
	JWT []string `json:"jwt,omitempty"`
}

// CredentialResponse is the Credential Response (§8.3), and the Deferred
// Credential Response (§9.2): Credentials (200), or TransactionID and
// Interval (202).
type CredentialResponse struct {
	Credentials    []IssuedCredential `json:"credentials,omitempty"`
	TransactionID  string             `json:"transaction_id,omitempty"`
	Interval       int                `json:"interval,omitempty"`
	NotificationID string             `json:"notification_id,omitempty"`
}

// IssuedCredential is one element of credentials (§8.3). The
// specification allows a string or an object; Tong's format, dc+sd-jwt,
// is a string (Appendix A.3.4).
type IssuedCredential struct {
	Credential string `json:"credential"`
}

// DeferredCredentialRequest is the Deferred Credential Request (§9.1).
type DeferredCredentialRequest struct {
	TransactionID string `json:"transaction_id"`
}

// NotificationRequest is the Notification Request (§11.1). Event is one
// of the Event* values.
type NotificationRequest struct {
	// Event comes first: the wallet has always sent event before
	// notification_id.
	Event            string `json:"event"`
	NotificationID   string `json:"notification_id"`
	EventDescription string `json:"event_description,omitempty"`
}

// IssuerMetadata is the Credential Issuer Metadata (§12.2.4), served at
// /.well-known/openid-credential-issuer (§12.2.2).
type IssuerMetadata struct {
	CredentialIssuer string `json:"credential_issuer"`
	// AuthorizationServers is empty when the Credential Issuer is its own
	// authorization server.
	AuthorizationServers              []string                           `json:"authorization_servers,omitempty"`
	CredentialEndpoint                string                             `json:"credential_endpoint"`
	NonceEndpoint                     string                             `json:"nonce_endpoint"`
	DeferredCredentialEndpoint        string                             `json:"deferred_credential_endpoint"`
	NotificationEndpoint              string                             `json:"notification_endpoint"`
	BatchCredentialIssuance           *BatchCredentialIssuance           `json:"batch_credential_issuance,omitempty"`
	Display                           []Display                          `json:"display"`
	CredentialConfigurationsSupported map[string]CredentialConfiguration `json:"credential_configurations_supported"`
}

// BatchCredentialIssuance is batch_credential_issuance (§12.2.4).
type BatchCredentialIssuance struct {
	BatchSize int `json:"batch_size"`
}

// Display is one locale's display properties of a Credential Issuer
// (§12.2.4 display), of a Credential (credential_metadata.display) or of a
// claim (Appendix B.2 display). background_image is not modelled.
type Display struct {
	// Name is written even when empty: the issuer has always sent it.
	Name        string `json:"name"`
	Locale      string `json:"locale,omitempty"`
	Description string `json:"description,omitempty"`
	Logo        *Logo  `json:"logo,omitempty"`
	// BackgroundColor and TextColor are CSS colours.
	BackgroundColor string `json:"background_color,omitempty"`
	TextColor       string `json:"text_color,omitempty"`
}

// Logo is a display's logo (§12.2.4).
type Logo struct {
	URI     string `json:"uri"`
	AltText string `json:"alt_text,omitempty"`
}

// CredentialConfiguration is one value of
// credential_configurations_supported (§12.2.4), with the dc+sd-jwt
// format's vct (Appendix A.3.2).
type CredentialConfiguration struct {
	Format                               string   `json:"format"`
	Scope                                string   `json:"scope"`
	VCT                                  string   `json:"vct"`
	CryptographicBindingMethodsSupported []string `json:"cryptographic_binding_methods_supported"`
	// CredentialSigningAlgValuesSupported holds strings (JWS algorithm
	// names) for dc+sd-jwt, and integers (COSE algorithm identifiers) for
	// mso_mdoc (Appendix A.2.2), so a wallet can read an issuer's
	// metadata that describes both.
	CredentialSigningAlgValuesSupported []any                `json:"credential_signing_alg_values_supported"`
	ProofTypesSupported                 map[string]ProofType `json:"proof_types_supported"`
	CredentialMetadata                  CredentialMetadata   `json:"credential_metadata"`
}

// ProofType is one value of proof_types_supported (§12.2.4).
// key_attestations_required is not modelled.
type ProofType struct {
	ProofSigningAlgValuesSupported []string `json:"proof_signing_alg_values_supported"`
}

// CredentialMetadata is credential_metadata (§12.2.4).
type CredentialMetadata struct {
	Display []Display          `json:"display"`
	Claims  []ClaimDescription `json:"claims"`
}

// ClaimDescription is a claims description object for issuer metadata
// (Appendix B.2). Path is a claims path pointer (Appendix C): strings,
// null and non-negative integers (float64 once decoded).
type ClaimDescription struct {
	Path      []any     `json:"path"`
	Mandatory bool      `json:"mandatory,omitempty"`
	Display   []Display `json:"display,omitempty"`
}

// ASMetadata is the OAuth 2.0 Authorization Server Metadata (RFC 8414
// §2) with pre-authorized_grant_anonymous_access_supported (§12.3),
// pushed_authorization_request_endpoint and
// require_pushed_authorization_requests (RFC 9126 §5),
// authorization_details_types_supported (RFC 9396 §10),
// authorization_response_iss_parameter_supported (RFC 9207 §3),
// dpop_signing_alg_values_supported (RFC 9449 §5.1), and the
// client_attestation_* members of OAuth 2.0 Attestation-Based Client
// Authentication.
type ASMetadata struct {
	Issuer                             string   `json:"issuer"`
	AuthorizationEndpoint              string   `json:"authorization_endpoint,omitempty"`
	PushedAuthorizationRequestEndpoint string   `json:"pushed_authorization_request_endpoint,omitempty"`
	RequirePushedAuthorizationRequests bool     `json:"require_pushed_authorization_requests,omitempty"`
	CodeChallengeMethodsSupported      []string `json:"code_challenge_methods_supported,omitempty"`
	AuthorizationDetailsTypesSupported []string `json:"authorization_details_types_supported,omitempty"`
	AuthorizationResponseISSSupported  bool     `json:"authorization_response_iss_parameter_supported,omitempty"`
	TokenEndpoint                      string   `json:"token_endpoint"`
	ResponseTypesSupported             []string `json:"response_types_supported"`
	GrantTypesSupported                []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported  []string `json:"token_endpoint_auth_methods_supported"`
	PreAuthorizedGrantAnonymousAccess  bool     `json:"pre-authorized_grant_anonymous_access_supported"`
	DPoPSigningAlgValuesSupported      []string `json:"dpop_signing_alg_values_supported"`
	ClientAttestationSigningAlgs       []string `json:"client_attestation_signing_alg_values_supported,omitempty"`
	ClientAttestationPoPSigningAlgs    []string `json:"client_attestation_pop_signing_alg_values_supported,omitempty"`
}

// PARResponse is the pushed authorization request endpoint's answer
// (RFC 9126 §2.2).
type PARResponse struct {
	RequestURI string `json:"request_uri"`
	ExpiresIn  int    `json:"expires_in"`
}

// AuthorizationStatus is not OpenID4VCI's: it is the JSON form of Tong's
// authorization page, for a client that sends Accept: application/json
// (a wallet that answers the page's presentation request itself).
type AuthorizationStatus struct {
	// Status is "pending", "presented" (the citizen's wallet presented;
	// the code goes only to the user agent the wallet sends back) or
	// "done".
	Status string `json:"status"`
	// PresentationURI is the OpenID4VP request the citizen's wallet
	// answers (pending only).
	PresentationURI string `json:"presentation_uri,omitempty"`
	// StatusURI is where to ask again.
	StatusURI string `json:"status_uri,omitempty"`
	// RedirectTo is the client's redirect_uri with code and state, or
	// with error (done only).
	RedirectTo string `json:"redirect_to,omitempty"`
}
