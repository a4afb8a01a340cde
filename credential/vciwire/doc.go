// Package vciwire declares, once, the JSON messages of [OpenID4VCI] 1.0
// (OpenID Foundation Final Specification) that Tong's
// issuer writes and its wallet reads, or the other way round:
// issuer/oid4vci and package issuer encode and decode them on the server,
// and package wallet on the client. It holds types and constants only and
// imports nothing but encoding/json, so the wallet built for the browser
// (GOOS=js GOARCH=wasm) links no server code through it.
//
// Member names are copied exactly from the specification. A type models
// the members Tong uses; a recipient ignores the others, as the
// specification asks ("The Wallet MUST ignore any unrecognized
// parameters"). The field order of each type is the member order Tong has
// always written, so the JSON on the wire is byte for byte what it was
// before the types moved here.
//
// Section numbers in comments are those of OpenID4VCI 1.0:
//
//   - §4.1.1 Credential Offer Parameters: [CredentialOffer], [Grant], [TxCode].
//   - §5.1.1 and §6.2 authorization_details: [AuthorizationDetail].
//   - §6.1 Token Request: the Param* form parameter names and the Grant*
//     grant types.
//   - §6.2 Successful Token Response: [TokenResponse].
//   - §7.2 Nonce Response: [NonceResponse].
//   - §8.2 Credential Request: [CredentialRequest], [Proofs].
//   - §8.3 Credential Response (and §9.2 Deferred Credential Response):
//     [CredentialResponse], [IssuedCredential].
//   - §9.1 Deferred Credential Request: [DeferredCredentialRequest].
//   - §11.1 Notification Request: [NotificationRequest] and the Event*
//     values.
//   - §12.2.4 Credential Issuer Metadata Parameters: [IssuerMetadata],
//     [BatchCredentialIssuance], [Display], [Logo],
//     [CredentialConfiguration], [ProofType], [CredentialMetadata];
//     Appendix A.3.2 (vct); Appendix B.2 claims description:
//     [ClaimDescription].
//   - §12.3 OAuth 2.0 Authorization Server Metadata (RFC 8414 and the
//     members of RFC 9126, RFC 9207 and RFC 9449 Tong uses): [ASMetadata].
//
// Two messages of the flow are not OpenID4VCI's: [PARResponse] (RFC 9126
// §2.2) and [AuthorizationStatus], Tong's JSON form of its authorization
// page.
//
// # Example
//
// The issuer answers the token endpoint with a [TokenResponse]; the
// wallet reads the same type:
//
//	var tok vciwire.TokenResponse
//	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
//		// not a token response
//	}
//
// [OpenID4VCI]: https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html
package vciwire
