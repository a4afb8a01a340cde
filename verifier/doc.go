// Package verifier is a service counter's verifier: counters and their
// tokens, purposes (DCQL presets), signed OpenID4VP 1.0 requests, the
// checks of a direct_post response, results pushed to the counter
// (server-sent events and webhooks), and offline caches.
//
// It is the domain only: its routes are in
// [github.com/tongid/tong/verifier/httpapi], which `web` mounts.
//
// # Flow
//
// A counter asks for a request for a purpose ([Service.CreateSession]). The
// verifier stores the session (nonce, state, DCQL query, expiry) and signs a
// request object (typ oauth-authz-req+jwt) under its did:tong DID, reached
// through request_uri. The wallet posts vp_token to response_uri ([Service.HandleResponse]); the
// verifier checks, in order: size and syntax, the issuer JWT's typ and alg,
// the issuer key (iss → the agency's did:tong document through the
// registry's URL binding), the signature, the agency's accreditation for
// the vct at issuance, validity times, disclosure digests, the status list,
// the KB-JWT (cnf key, nonce, aud, iat, sd_hash, transaction_data_hashes),
// and that the nonce is used once. Every failure has a stable [Code].
// When the purpose's DCQL query has trusted_authorities (type aki, HAIP
// 1.0), the credential's own x5c chain must also reach [Config.TrustList]
// and name one of them ([CodeUntrustedAuthority]): the wallet's matching
// is never taken on trust.
//
// # Specs
//
//   - [OpenID4VP] 1.0: request objects, the decentralized_identifier
//     client identifier prefix, DCQL, direct_post,
//     transaction_data.
//   - [SD-JWT VC] draft 18 and [RFC 9901] key binding.
//
// [OpenID4VP]: https://openid.net/specs/openid-4-verifiable-presentations-1_0.html
// [SD-JWT VC]: https://datatracker.ietf.org/doc/draft-ietf-oauth-sd-jwt-vc/
// [RFC 9901]: https://www.rfc-editor.org/rfc/rfc9901
package verifier
