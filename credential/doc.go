// Package credential issues, presents and verifies the credentials Tong
// speaks: SD-JWT ([RFC 9901]) and SD-JWT VC ([SD-JWT VC], draft -18, typ
// "dc+sd-jwt"). Subpackages hold the other formats: [statuslist] (IETF Token
// Status List and W3C Bitstring Status List), [vcjose] (W3C VCDM 2.0
// secured with VC-JOSE-COSE, typ "vc+jwt") and [dcql] (the Digital
// Credentials Query Language of OpenID4VP 1.0).
//
// Keys are crypto.Signer (private) and crypto.PublicKey (public): ES256
// (P-256) by default, Ed25519 as well (JOSE "EdDSA"; "Ed25519" from RFC
// 9864 is accepted on input). Algorithm "none", MACs and everything else
// are refused.
//
// # Issuing
//
// [IssueVC] signs a [VC]: the issuer's identifier and type, validity,
// the holder key it is bound to (cnf.jwk), its status list entry, and the
// subject's claims with the [Path]s that the holder may withhold. Paths
// name object members, array elements (an int, or nil for every element)
// and nested claims; a parent and its children may both be disclosable
// (recursive disclosure). Salts carry 128 bits, and each _sd array gets
// decoy digests. The registered claims iss, vct, cnf, status, nbf and exp
// can never be made disclosable. [IssueSDJWT] is the format-neutral layer
// under it.
//
// # Presenting
//
// [Present] keeps the disclosures that reveal the claims at the given
// paths (and the parents they need) and appends a key-binding JWT (typ
// "kb+jwt") with the verifier's nonce and audience, the time, sd_hash over
// the exact presented string, and any extra claims such as OpenID4VP's
// transaction_data_hashes.
//
// # Verifying
//
// [Verifier.Verify] runs the checks in this order and records each
// outcome in [Result.Checks]: size and syntax (at most [MaxTokenSize]
// bytes, nesting at most [MaxDepth], strict JSON with no duplicate
// members), typ, algorithm, issuer key, signature, registered claims,
// validity (exp, nbf, iat with [DefaultSkew]), disclosures (each digest
// used once, no duplicate or unreferenced disclosure, no reserved or
// never-disclosable names), key binding. Every refusal is an [*Error]
// with a stable [Code].
//
// Issuer keys come from an [IssuerKeyResolver]. [IssuerKeys] dispatches:
// an https iss goes to [JWTVCIssuerMetadata] (the standard
// /.well-known/jwt-vc-issuer lookup), a DID iss to [DIDIssuerKeys] (kid is
// a DID URL), and a Check hook lets Tong's verifier require that the key
// also sits in the agency's did:tong document. docs/credential-profile.md
// describes the profile.
//
// [RFC 9901]: https://www.rfc-editor.org/rfc/rfc9901
// [SD-JWT VC]: https://datatracker.ietf.org/doc/draft-ietf-oauth-sd-jwt-vc/18/
// [statuslist]: https://pkg.go.dev/github.com/tongid/tong/credential/statuslist
// [vcjose]: https://pkg.go.dev/github.com/tongid/tong/credential/vcjose
// [dcql]: https://pkg.go.dev/github.com/tongid/tong/credential/dcql
package credential
