// Package issuer is a city agency's credential issuer: agencies and their
// staff tokens, credential types, offers with a PIN, the OpenID4VCI 1.0
// pre-authorized code flow, SD-JWT VC issuance in batches of one-time
// copies, Token Status Lists and the audit trail.
//
// It is the domain only: it speaks no HTTP and holds no router. Its routes
// (the OpenID4VCI endpoints, metadata, status lists and the staff API) are
// in [github.com/tongid/tong/issuer/oid4vci], which `web` mounts; the
// credential formats are in [github.com/tongid/tong/credential].
//
// # Flow
//
// Staff create an [Offer] for one citizen ([Service.CreateOffer]): a
// single-use pre-authorized code and a tx_code (the PIN, given apart from
// the QR code, with limited tries). The wallet redeems the code at the
// token endpoint, takes a c_nonce from the nonce endpoint, and proves one
// key per copy it asks for; each copy is an SD-JWT VC (typ dc+sd-jwt) bound
// to one proven key (cnf) with its own status list entry, so counters
// cannot link two presentations. The refresh token fetches a fresh batch
// while the credential is valid. Suspending or revoking a credential sets
// its entries in the agency's status list.
//
// # Authorization code flow
//
// With an [Authenticator] in [Config], an agency also runs the
// authorization code flow. Staff stage an offer with a Subject (the
// citizen's personal_administrative_number). The wallet pushes an
// authorization request ([Service.PushAuthorizationRequest]: PKCE S256,
// authorization_details of type openid_credential), the authorization
// endpoint spends its request_uri ([Service.Authorize]) and asks the
// citizen to present their identity credential through the
// Authenticator, same-device: the wallet sends the citizen's browser
// back with a response_code, and [Service.FinishAuthorization] binds a
// one-time code to the offer staged for the verified subject only for
// the browser that opened the page and brings that response_code
// (OpenID4VP 1.0 "Session Fixation"); [Service.PollAuthorization]
// only tells the page whether the citizen presented. The token endpoint's
// authorization_code grant checks the code_verifier, redirect_uri and
// client_id. An agency set to [ProfileHAIP] ([Service.SetProfile])
// requires DPoP for the whole flow. Wallet attestations
// ([Service.VerifyClientAttestation]) are checked when sent.
//
// # Specs
//
//   - [OpenID4VCI] 1.0: offers, token endpoint, nonce endpoint,
//     credential endpoint and proofs, deferred, notification, issuer
//     metadata.
//   - [SD-JWT VC] draft 18 and [RFC 9901] for the credential format.
//   - [Token Status List] draft 20 for revocation and suspension.
//   - [RFC 9126] (PAR), [RFC 7636] (PKCE), [RFC 9449] (DPoP), [RFC 9207]
//     (iss in the authorization response) and OAuth 2.0
//     [Attestation-Based Client Authentication].
//
// [OpenID4VCI]: https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html
// [SD-JWT VC]: https://datatracker.ietf.org/doc/draft-ietf-oauth-sd-jwt-vc/
// [RFC 9901]: https://www.rfc-editor.org/rfc/rfc9901
// [Token Status List]: https://datatracker.ietf.org/doc/draft-ietf-oauth-status-list/
// [RFC 9126]: https://www.rfc-editor.org/rfc/rfc9126
// [RFC 7636]: https://www.rfc-editor.org/rfc/rfc7636
// [RFC 9449]: https://www.rfc-editor.org/rfc/rfc9449
// [RFC 9207]: https://www.rfc-editor.org/rfc/rfc9207
// [Attestation-Based Client Authentication]: https://datatracker.ietf.org/doc/draft-ietf-oauth-attestation-based-client-auth/
package issuer
