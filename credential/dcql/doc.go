// Package dcql implements the Digital Credentials Query Language of
// [OpenID4VP] 1.0 (OpenID Foundation Final Specification, July 2025; the
// DCQL text is unchanged in the errata set 1 editor's draft): the query
// types (§6), strict parsing with limits, and matching of stored
// credentials with claims path pointers (§7).
//
// Section numbers in comments are those of OpenID4VP 1.0:
//
//   - §6 Digital Credentials Query Language: [Query].
//   - §6.1 Credential Query: [CredentialQuery], [Meta].
//   - §6.1.1 Trusted Authorities Query: [TrustedAuthority].
//   - §6.2 Credential Set Query: [CredentialSetQuery].
//   - §6.3 Claims Query: [ClaimsQuery].
//   - §6.4 Selecting Claims and Credentials: [Query.Match].
//   - §7 Claims Path Pointer: [Path]; [Path.Select], [Path.Selects] and
//     [Path.Lookup] walk one over a credential's claims (§7.1.1).
//   - Appendix B Credential Format Specific Parameters: meta members
//     vct_values (dc+sd-jwt), type_values (jwt_vc_json, ldp_vc) and
//     doctype_value (mso_mdoc).
//
// # Parsing
//
// [Parse] reads an untrusted dcql_query: at most [MaxQueryBytes], no
// duplicate member names, nesting at most [MaxDepth], and the count limits
// of the Max* constants. [Query.Validate] then checks the rules of §6 and §7:
// REQUIRED members and their JSON types, non-empty arrays, ids matching
// ^[a-zA-Z0-9_-]+$ and unique, claim_sets only with claims that all have
// ids and naming existing ones, credential_sets options naming existing
// Credential Queries, path elements that are strings, null or non-negative
// integers (exactly two strings for mso_mdoc), and values that are strings,
// integers or booleans. Unknown members are ignored, as §6 requires. Every
// failure is an [*Error] with a stable [Code] and the JSON Pointer of the
// offending member, and matches [ErrInvalidQuery]; a Wallet reports it as
// the OAuth error "invalid_request". A Query marshals back with
// encoding/json to the spec's member names; Parse of that output gives the
// same Query.
//
// # Matching
//
// [Query.Match] evaluates a query against the Wallet's stored credentials,
// each described by a [Credential] (format, type, holder binding, trusted
// authorities and the fully processed claims). For every Credential Query
// it lists the credentials that satisfy it and, for each, exactly which
// claims to disclose as concrete paths: nulls expanded to indexes, only the
// elements whose value matches values, only the claims of the first
// claim_sets option the credential satisfies. A Credential Query without
// claims requests no selectively disclosable claim ([DiscloseMandatoryOnly]).
// The [Result] also says whether the query as a whole can be answered under
// its credential_sets, and proposes one combination ([Result.Selection]).
//
// Matching implements the Wallet side. Spec: §14.9 (Security Checks on the
// Returned Credentials and Presentations): the Verifier "MUST NOT rely on
// the Wallet to enforce these constraints", and values matching is a
// privacy aid, never a security check.
//
// # Example
//
//	q, err := dcql.Parse(request.DCQLQuery)
//	if err != nil {
//		return err // answer "invalid_request"
//	}
//	res, err := q.Match(stored)
//	if err != nil || !res.Satisfied {
//		return errNoMatch // after End-User interaction: "access_denied"
//	}
//	for id, matches := range res.Selection {
//		for _, m := range matches {
//			present(id, stored[m.Credential], m.Paths)
//		}
//	}
//
// [OpenID4VP]: https://openid.net/specs/openid-4-verifiable-presentations-1_0.html
package dcql
