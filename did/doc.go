// Package did implements decentralized identifiers for Tong: the DID and DID
// URL syntax, the DID document data model, the resolution interface with its
// metadata, and three DID methods: did:key, did:jwk and did:web. The did:tong
// registry method lives in package didregistry and plugs in through
// [Resolver].
//
// Specifications, by the names used in comments:
//
//   - [DID Core] 1.1 (W3C Candidate Recommendation, 2026-03-05; 1.0 is the
//     2022 Recommendation): syntax (§3), data model and core properties
//     (§4, §5).
//   - [DID Resolution] 1.0 (W3C Candidate Recommendation, 2026): the resolve
//     function, options, metadata, the DID resolution result and its media
//     type application/did-resolution, and the error types.
//   - [CID] (Controlled Identifiers 1.0): the Multikey and JsonWebKey
//     verification method types.
//   - [did:key] v0.9 (W3C CCG draft, 2025-11).
//   - [did:jwk] (community specification, 2023).
//   - [did:web] (W3C CCG draft).
//
// # Syntax
//
// [Parse] accepts exactly the did rule of DID Core §3.1 and [ParseURL] the
// did-url rule of §3.2, both limited to [MaxLength] bytes; [DID.String] and
// [URL.String] give back the input. [ResolveReference] resolves a relative
// DID URL such as "#key-1" against a DID. [URL.Params] reads DID parameters
// and rejects duplicates.
//
// # Documents
//
// [Document] is a DID document in JSON. [ParseDocument] parses untrusted
// bytes strictly (size, depth and count limits, no duplicate member names)
// and calls [Document.Validate]. Members the type does not define are kept in
// Extra fields, so documents round-trip. [Document.VerificationMethod] looks
// a method up by absolute or relative id; [Document.KeyFor] returns a key
// only if the document authorizes it for a verification [Relationship], and
// [PublicKey] turns a method (Multikey, JsonWebKey, JsonWebKey2020) into an
// ed25519.PublicKey, a P-256 *ecdsa.PublicKey or an X25519 *ecdh.PublicKey.
// [EncodeMultikey] and [DecodeMultikey] convert keys to and from
// publicKeyMultibase.
//
// # Resolution
//
// [Resolver] is the resolve function of DID Resolution; its doc comment is
// the contract every method implements. [Result] carries the document,
// [DocumentMetadata] (created, updated, deactivated, versionId,
// nextVersionId, proof, …) and [ResolutionMetadata] (contentType, error,
// proof). [ResolveKey] turns a DID URL used as a JOSE "kid" into a key
// authorized for a relationship, which is what a verifier needs when an
// issuer is a DID.
//
// [Multi] dispatches by method; [Cache] keeps answers for a TTL, bounded in
// size, and shares concurrent misses. Resolvers for the methods:
//
//   - [KeyResolver]: did:key with Ed25519 ("z6Mk…") and P-256 ("zDn…") keys
//     ([NewKeyDID], [ParseKeyDID]).
//   - [JWKResolver]: did:jwk ([NewJWKDID]); JWKs with private members are
//     rejected.
//   - [WebResolver]: did:web over HTTPS through an injected *http.Client
//     ([WebURL] shows the URL). IP addresses are refused before any I/O.
//
// # Errors
//
// Every failure is an [*Error] whose [Code] is a DID Resolution error name,
// such as INVALID_DID, NOT_FOUND or METHOD_NOT_SUPPORTED, and [Code.URI]
// gives its RFC 9457 problem type. [CodeOf] reads the code of any error.
// [CodeDeactivated] is the one code that is not a DID Resolution error: a
// deactivated DID is an error in Go, so that it fails closed, while the
// [Result] returned with it carries "deactivated": true for the HTTP binding
// (status 410). Sentinels such as [ErrUnsupportedKeyType] and [ErrPrivateKey]
// tell sub-cases apart with errors.Is.
//
// # Example
//
//	m, _ := did.NewMulti(map[string]did.Resolver{
//		"key": did.KeyResolver{},
//		"jwk": did.JWKResolver{},
//	})
//	pub, err := did.ResolveKey(ctx, m, kid, did.AssertionMethod)
//
// [DID Core]: https://www.w3.org/TR/did-1.1/
// [DID Resolution]: https://www.w3.org/TR/did-resolution/
// [CID]: https://www.w3.org/TR/cid-1.0/
// [did:key]: https://w3c-ccg.github.io/did-key-spec/
// [did:jwk]: https://github.com/quartzjer/did-jwk/blob/main/spec.md
// [did:web]: https://w3c-ccg.github.io/did-method-web/
package did
