// Package vpwire declares the messages of [OpenID4VP] 1.0 (OpenID
// Foundation Final Specification, July 2025) as Go types, once, for both
// ends of a presentation: the verifier (package verifier, which makes
// Request Objects and reads responses) and the wallet (package wallet,
// which reads Request Objects and sends responses). It holds wire types
// and their encodings only, no rules: which values are acceptable is the
// business of the two sides. It depends on the standard library alone and
// builds for GOOS=js GOARCH=wasm, so the browser wallet links it.
//
// Member names are the spec's, exactly; each type's comment names the
// section that defines it. Section numbers are those of OpenID4VP 1.0;
// the anchors (#response_mode_post) are those of its published text.
// The messages of OpenID4VCI 1.0 have a sibling package of their own.
//
// # Authorization Request
//
//   - [AuthorizationRequest]: the URL query of a request by reference
//     (client_id, request_uri, request_uri_method; §5, RFC 9101 §5.2).
//   - [RequestObject]: the signed Request Object's claims (client_id,
//     response_type, response_mode, response_uri, nonce, state, dcql_query,
//     client_metadata, transaction_data; §5.1, §5.2, §8.2).
//   - [ClientMetadata], [JWKS], [VPFormat]: client_metadata (§5.1, §11.1,
//     Appendix B.3.4).
//
// # Response
//
//   - [VPToken]: vp_token, keyed by the DCQL Credential Query id (§8.1).
//   - [Response]: the response for direct_post (§8.2, as a form) and
//     direct_post.jwt (§8.3.1, as the JWE's JSON payload).
//   - [ErrorResponse]: error and state (§8.5).
//   - [ResponseAnswer]: the Response URI's answer, with redirect_uri (§8.2).
//
// # Example
//
//	var ro vpwire.RequestObject
//	if err := json.Unmarshal(jws.Payload, &ro); err != nil {
//		return err // invalid_request
//	}
//	q, err := dcql.Parse(ro.DCQLQuery)
//	...
//	form, err := vpwire.Response{VPToken: vpwire.VPToken{"pid": {vp}}, State: ro.State}.Form()
//
// [OpenID4VP]: https://openid.net/specs/openid-4-verifiable-presentations-1_0.html
package vpwire
