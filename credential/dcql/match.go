package dcql

import "slices"

// Credential is a stored credential as the matcher sees it. The caller
// fills it from its own credential type; this package imports no credential
// format. Only the fields of the credential's format are read.
type Credential struct {
	// ID is the caller's handle for the credential, copied into [Match].
	ID string
	// Format is its Credential Format Identifier, e.g. [FormatSDJWTVC].
	Format string
	// VCT is the SD-JWT VC "vct" claim (dc+sd-jwt).
	VCT string
	// Types are the fully expanded W3C "type" values (jwt_vc_json, ldp_vc).
	Types []string
	// DocType is the mdoc doctype (mso_mdoc).
	DocType string
	// HolderBinding reports whether the credential is bound to a holder key
	// (SD-JWT VC: it has a "cnf" claim). A query that requires Cryptographic
	// Holder Binding, which is the default, matches only such credentials.
	HolderBinding bool
	// Authorities lists the trusted authorities the credential's issuer can
	// be traced to, by type, e.g. {Type: "aki", Values: the base64url
	// KeyIdentifiers of the certificate chain in its header}. A query with
	// trusted_authorities matches only if one of its entries shares a type
	// and a value with one of these.
	Authorities []TrustedAuthority
	// Claims are all the claims the holder could disclose, with every
	// disclosure applied: the processed SD-JWT payload, the W3C VC root
	// object (for jwt_vc_json: the "vc" claim's value, OpenID4VP 1.0
	// Appendix B.1), or for an mdoc a map from namespace to a map from data
	// element identifier to its value converted to JSON. Values are as
	// encoding/json decodes into any (json.Number and Go integers also
	// work). The matcher never modifies Claims.
	Claims map[string]any
}

// Disclosure says what of a matched credential the Wallet presents.
type Disclosure uint8

const (
	// DiscloseClaims: the Credential Query has claims; present exactly the
	// selectively disclosable claims at [Match.Paths] (and whatever is
	// always disclosed). Spec: §6.4: "Wallets MUST NOT send selectively
	// disclosable claims that have not been selected according to the
	// rules below."
	DiscloseClaims Disclosure = iota + 1
	// DiscloseMandatoryOnly: the Credential Query has no claims, and
	// [Match.Paths] is empty. Spec: §6.4.1: "If `claims` is absent, the
	// Verifier is requesting no claims that are selectively disclosable;
	// the Wallet MUST return only the claims that are mandatory to present
	// (e.g., SD-JWT and Key Binding JWT for a Credential of format IETF
	// SD-JWT VC)." For a format without selective disclosure this is the
	// full credential.
	DiscloseMandatoryOnly
)

func (d Disclosure) String() string {
	switch d {
	case DiscloseClaims:
		return "claims"
	case DiscloseMandatoryOnly:
		return "mandatory_only"
	}
	return "invalid"
}

// Match is one stored credential that satisfies one Credential Query.
type Match struct {
	// Credential is the index of the credential in the slice passed to
	// [Query.Match]; ID is its [Credential.ID].
	Credential int
	ID         string
	// Disclose says whether Paths lists the claims to present.
	Disclose Disclosure
	// ClaimSet is the index of the claim_sets option used, the first one
	// the credential satisfies; -1 when the query has no claim_sets.
	ClaimSet int
	// Paths are the concrete claims path pointers of the claims to
	// disclose: strings and ints only, every null expanded to the indexes
	// of the elements it selected (and that passed values matching), in
	// claims order, without duplicates. A path selects the whole value at
	// it, nested claims included. The SD-JWT layer discloses each path
	// together with the parents it needs.
	Paths []Path
}

// SetResult is the outcome of one Credential Set Query (§6.2).
type SetResult struct {
	// Required is the set's required member with its default applied.
	Required bool
	// Options lists, in the Verifier's order of preference, the indexes of
	// the options whose every Credential Query has a match.
	Options []int
	// Chosen is Options[0], or -1 when no option can be satisfied.
	Chosen int
}

// Result is the outcome of evaluating a query against stored credentials
// (OpenID4VP 1.0 §6.4).
type Result struct {
	// Satisfied reports whether the Wallet can answer the query: every
	// Credential Query has a match when there are no credential_sets,
	// otherwise every required Credential Set Query has an option whose
	// queries all have matches. Spec: §6.4.2: "If the Wallet cannot
	// deliver all non-optional Credentials requested by the Verifier
	// according to these rules, it MUST NOT return any Credential(s)."
	Satisfied bool
	// Candidates maps each Credential Query id that has a match to every
	// stored credential that satisfies it, in the order given.
	Candidates map[string][]Match
	// Sets parallels Query.CredentialSets; nil when there are none.
	Sets []SetResult
	// Selection is one combination that answers the query, keyed by
	// Credential Query id as in the vp_token: the Chosen option of every
	// set that has one (optional sets included), or every Credential Query
	// when there are no credential_sets; for each, its first candidate, or
	// all candidates when the query allows multiple. Nil when not
	// Satisfied. A Wallet UI may let the End-User pick another combination
	// from Candidates and Sets.
	Selection map[string][]Match
}

// Match evaluates q against the stored credentials creds (OpenID4VP 1.0
// §6.4, §7). It validates q first; the error, if any, is an [*Error].
//
// A credential satisfies a Credential Query when its format is the query's
// format, its type is allowed by meta, it matches trusted_authorities and
// holder binding if the query has them, and every requested claim exists
// (with one of the values, if given). Credentials of a format this package
// does not know never match.
func (q *Query) Match(creds []Credential) (*Result, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	res := &Result{Candidates: make(map[string][]Match)}
	var m matcher
	for i := range q.Credentials {
		cq := &q.Credentials[i]
		m.prepare(cq)
		for j := range creds {
			if match, ok := m.match(cq, &creds[j]); ok {
				match.Credential = j
				res.Candidates[cq.ID] = append(res.Candidates[cq.ID], match)
			}
		}
	}

	// Spec: §6.4.2: "If `credential_sets` is not provided, the Verifier
	// requests presentations for all Credentials in `credentials` to be
	// returned."
	var chosen []string
	if q.CredentialSets == nil {
		res.Satisfied = true
		for i := range q.Credentials {
			id := q.Credentials[i].ID
			if len(res.Candidates[id]) == 0 {
				res.Satisfied = false
			}
			chosen = append(chosen, id)
		}
	} else {
		// Spec: §6.4.2: "Otherwise, the Verifier requests presentations of
		// Credentials to be returned satisfying all of the Credential Set
		// Queries in the `credential_sets` array where the `required`
		// attribute is true or omitted, and optionally, any of the other
		// Credential Set Queries."
		res.Satisfied = true
		res.Sets = make([]SetResult, len(q.CredentialSets))
		for i := range q.CredentialSets {
			s := &q.CredentialSets[i]
			sr := SetResult{Required: s.IsRequired(), Chosen: -1}
			for j, opt := range s.Options {
				// Spec: §6.4.2: "To satisfy a Credential Set Query, the
				// Wallet MUST return presentations of a set of Credentials
				// that match to one of the `options` inside the Credential
				// Set Query."
				if allMatched(opt, res.Candidates) {
					sr.Options = append(sr.Options, j)
				}
			}
			if len(sr.Options) > 0 {
				sr.Chosen = sr.Options[0]
				for _, id := range s.Options[sr.Chosen] {
					if !slices.Contains(chosen, id) {
						chosen = append(chosen, id)
					}
				}
			} else if sr.Required {
				res.Satisfied = false
			}
			res.Sets[i] = sr
		}
	}
	if !res.Satisfied {
		return res, nil
	}
	res.Selection = make(map[string][]Match, len(chosen))
	for i := range q.Credentials {
		cq := &q.Credentials[i]
		if !slices.Contains(chosen, cq.ID) {
			continue
		}
		cands := res.Candidates[cq.ID]
		// Spec: §8.1: "When `multiple` is omitted, or set to `false`, the
		// array MUST contain only one Presentation."
		if !cq.Multiple {
			cands = cands[:1:1] // appending must not overwrite Candidates
		}
		res.Selection[cq.ID] = cands
	}
	return res, nil
}

func allMatched(ids []string, cands map[string][]Match) bool {
	for _, id := range ids {
		if len(cands[id]) == 0 {
			return false
		}
	}
	return true
}

// claimResult memoizes one Claims Query against one credential.
type claimResult struct {
	done  bool
	ok    bool
	paths []Path
}

// matcher holds per-query state reused across credentials.
type matcher struct {
	sets   [][]int // claim_sets as indexes into claims
	memo   []claimResult
	chosen []bool
}

func (m *matcher) prepare(cq *CredentialQuery) {
	m.sets = m.sets[:0]
	if cq.ClaimSets != nil {
		index := make(map[string]int, len(cq.Claims))
		for i := range cq.Claims {
			index[cq.Claims[i].ID] = i
		}
		for _, set := range cq.ClaimSets {
			idx := make([]int, len(set))
			for k, id := range set {
				idx[k] = index[id]
			}
			m.sets = append(m.sets, idx)
		}
	}
	m.memo = slices.Grow(m.memo[:0], len(cq.Claims))[:len(cq.Claims)]
	m.chosen = slices.Grow(m.chosen[:0], len(cq.Claims))[:len(cq.Claims)]
}

// match evaluates one credential against one Credential Query.
func (m *matcher) match(cq *CredentialQuery, c *Credential) (Match, bool) {
	if c.Format != cq.Format || !metaMatches(cq, c) {
		return Match{}, false
	}
	// Spec: §6.1: "Every Credential returned by the Wallet SHOULD match at
	// least one of the conditions present in the corresponding
	// `trusted_authorities` array if present."
	if cq.TrustedAuthorities != nil && !authorityMatches(cq.TrustedAuthorities, c.Authorities) {
		return Match{}, false
	}
	// Spec: Appendix B.3: "SD-JWTs that do not support Holder Binding
	// (i.e., do not have a `cnf` Claim) cannot be returned in this case."
	if cq.HolderBindingRequired() && !c.HolderBinding {
		return Match{}, false
	}
	out := Match{ID: c.ID, ClaimSet: -1}
	if cq.Claims == nil {
		out.Disclose = DiscloseMandatoryOnly
		return out, true
	}
	out.Disclose = DiscloseClaims
	clear(m.memo)
	clear(m.chosen)
	if cq.ClaimSets == nil {
		// Spec: §6.4.1: "If `claims` is present, but `claim_sets` is
		// absent, the Verifier requests all claims listed in `claims`."
		for i := range cq.Claims {
			if !m.eval(cq, i, c) {
				return Match{}, false
			}
			m.chosen[i] = true
		}
	} else {
		// Spec: §6.4.1: "the Wallet SHOULD return the first option that it
		// can satisfy. If the Wallet cannot satisfy any of the options, it
		// MUST NOT return any claims."
		for s, set := range m.sets {
			if m.evalAll(cq, set, c) {
				out.ClaimSet = s
				for _, i := range set {
					m.chosen[i] = true
				}
				break
			}
		}
		if out.ClaimSet < 0 {
			// Spec: §6.4.1: "If the Wallet cannot deliver all claims
			// requested by the Verifier according to these rules, it MUST
			// NOT return the respective Credential."
			return Match{}, false
		}
	}
	for i, ch := range m.chosen {
		if !ch {
			continue
		}
		for _, p := range m.memo[i].paths {
			if !containsPath(out.Paths, p) {
				out.Paths = append(out.Paths, p)
			}
		}
	}
	return out, true
}

func (m *matcher) evalAll(cq *CredentialQuery, set []int, c *Credential) bool {
	for _, i := range set {
		if !m.eval(cq, i, c) {
			return false
		}
	}
	return true
}

// eval processes Claims Query i against c once and remembers the answer.
func (m *matcher) eval(cq *CredentialQuery, i int, c *Credential) bool {
	r := &m.memo[i]
	if r.done {
		return r.ok
	}
	r.done = true
	cl := &cq.Claims[i]
	sel, ok := selectClaims(c.Claims, cl.Path, nil)
	if !ok {
		return false
	}
	if cl.Values != nil {
		// Spec: §6.4.1: "When a Claims Query contains a restriction on the
		// values of a claim, the Wallet SHOULD NOT return the claim if its
		// value does not match ... i.e., the claim should be treated the
		// same as if it did not exist in the Credential." Each element a
		// null selected is a claim of its own, so it is kept or dropped on
		// its own value.
		kept := sel[:0]
		for _, n := range sel {
			if valueMatches(n.v, cl.Values) {
				kept = append(kept, n)
			}
		}
		if len(kept) == 0 {
			return false
		}
		sel = kept
	}
	r.paths = make([]Path, len(sel))
	for k, n := range sel {
		r.paths[k] = cl.Path.concrete(n)
	}
	r.ok = true
	return true
}

func containsPath(ps []Path, p Path) bool {
	for _, q := range ps {
		if q.equal(p) {
			return true
		}
	}
	return false
}

// metaMatches applies the format-specific meta constraints (Appendix B).
func metaMatches(cq *CredentialQuery, c *Credential) bool {
	switch cq.Format {
	case FormatSDJWTVC:
		// Spec: Appendix B.3: vct_values "specifies allowed values for the
		// type of the requested Verifiable Credential."
		return slices.Contains(cq.Meta.VCTValues, c.VCT)
	case FormatJWTVC, FormatLDPVC:
		// Spec: Appendix B.1: "Each of the top-level arrays specifies one
		// alternative to match the fully expanded `type` values of the
		// Verifiable Credential against. Each inner array specifies a set of
		// fully expanded types that MUST be present in the fully expanded
		// types in the `type` property of the Verifiable Credential,
		// regardless of order or the presence of additional types."
		for _, alt := range cq.Meta.TypeValues {
			all := true
			for _, t := range alt {
				if !slices.Contains(c.Types, t) {
					all = false
					break
				}
			}
			if all {
				return true
			}
		}
		return false
	case FormatMdoc:
		return c.DocType == cq.Meta.DoctypeValue
	}
	return false
}

// authorityMatches reports whether some query entry shares a type and a
// value with some of the credential's authorities. Spec: §6.1.1: "A
// Credential is identified as a match to a Trusted Authorities Query if it
// matches with one of the provided values in one of the provided types."
func authorityMatches(want, have []TrustedAuthority) bool {
	for _, w := range want {
		for _, h := range have {
			if w.Type != h.Type {
				continue
			}
			for _, v := range w.Values {
				if slices.Contains(h.Values, v) {
					return true
				}
			}
		}
	}
	return false
}
