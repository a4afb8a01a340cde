package dcql

// Credential Format Identifiers that this package evaluates (OpenID4VP 1.0
// Appendix B). A Credential Query with any other format is accepted by
// [Parse] but matches no credential, because its meta cannot be evaluated.
const (
	// FormatSDJWTVC is IETF SD-JWT VC. Spec: Appendix B.3: "The Credential
	// Format Identifier is `dc+sd-jwt`."
	FormatSDJWTVC = "dc+sd-jwt"
	// FormatJWTVC is a W3C VC signed as a JWT, not using JSON-LD.
	FormatJWTVC = "jwt_vc_json"
	// FormatLDPVC is a W3C VC secured with Data Integrity.
	FormatLDPVC = "ldp_vc"
	// FormatMdoc is an ISO/IEC 18013-5 mdoc.
	FormatMdoc = "mso_mdoc"
)

// Trusted Authorities Query types (OpenID4VP 1.0 §6.1.1). Other types are
// accepted and compared by name.
const (
	TrustedAuthorityAKI              = "aki"
	TrustedAuthorityETSITL           = "etsi_tl"
	TrustedAuthorityOpenIDFederation = "openid_federation"
)

// Limits enforced by [Parse] and [Query.Validate]. They are far above what
// the spec's examples use and bound the work an untrusted query can cause.
const (
	// MaxQueryBytes bounds the JSON text of one query.
	MaxQueryBytes = 64 << 10
	// MaxDepth bounds JSON nesting, unknown members included.
	MaxDepth = 32
	// MaxCredentialQueries bounds "credentials".
	MaxCredentialQueries = 64
	// MaxCredentialSets bounds "credential_sets", and "options" in each.
	MaxCredentialSets = 32
	// MaxClaims bounds "claims" in one Credential Query.
	MaxClaims = 128
	// MaxClaimSets bounds "claim_sets" in one Credential Query.
	MaxClaimSets = 32
	// MaxPathLength bounds the elements of one claims path pointer.
	MaxPathLength = 32
	// MaxValues bounds "values" in one Claims Query, and the elements of
	// vct_values, type_values (both levels), trusted_authorities and their
	// values.
	MaxValues = 64
	// MaxIDLength bounds Credential Query and Claims Query ids.
	MaxIDLength = 128
)

// Query is a DCQL query (OpenID4VP 1.0 §6), the value of the dcql_query
// Authorization Request parameter. Marshal it with encoding/json; a Query
// that passed [Query.Validate] marshals to a valid query.
type Query struct {
	// Spec: §6: "REQUIRED. A non-empty array of Credential Queries".
	Credentials []CredentialQuery `json:"credentials"`
	// Spec: §6: "OPTIONAL. A non-empty array of Credential Set Queries".
	CredentialSets []CredentialSetQuery `json:"credential_sets,omitempty"`
}

// CredentialQuery requests a presentation of one or more matching
// credentials (OpenID4VP 1.0 §6.1).
type CredentialQuery struct {
	// ID identifies the credential in the response and in credential_sets.
	ID string `json:"id"`
	// Format is a Credential Format Identifier, e.g. [FormatSDJWTVC].
	Format string `json:"format"`
	// Multiple allows more than one credential for this query. Spec: "If
	// omitted, the default value is `false`."
	Multiple bool `json:"multiple,omitempty"`
	// Meta constrains the credential's type and metadata. It is REQUIRED
	// and always marshalled, as {} when it has no member.
	Meta Meta `json:"meta"`
	// TrustedAuthorities lists issuer trust anchors the Verifier accepts.
	TrustedAuthorities []TrustedAuthority `json:"trusted_authorities,omitempty"`
	// RequireCryptographicHolderBinding is nil when absent, which means
	// true; use [CredentialQuery.HolderBindingRequired].
	RequireCryptographicHolderBinding *bool `json:"require_cryptographic_holder_binding,omitempty"`
	// Claims lists requested claims. Nil means absent: see
	// [DiscloseMandatoryOnly].
	Claims []ClaimsQuery `json:"claims,omitempty"`
	// ClaimSets lists acceptable combinations of Claims ids, most preferred
	// first.
	ClaimSets [][]string `json:"claim_sets,omitempty"`
}

// HolderBindingRequired reports require_cryptographic_holder_binding with
// its default applied. Spec: §6.1: "The default value is `true`".
func (c *CredentialQuery) HolderBindingRequired() bool {
	return c.RequireCryptographicHolderBinding == nil || *c.RequireCryptographicHolderBinding
}

// Meta is the format-specific meta object of a Credential Query
// (OpenID4VP 1.0 Appendix B). Only the member defined for the query's
// format is read by [Parse]; members of other formats are unknown there and
// ignored, as §6 requires.
type Meta struct {
	// VCTValues: dc+sd-jwt. Spec: Appendix B.3: "REQUIRED. A non-empty
	// array of strings that specifies allowed values for the type of the
	// requested Verifiable Credential."
	VCTValues []string `json:"vct_values,omitempty"`
	// TypeValues: jwt_vc_json and ldp_vc. Spec: Appendix B.1: "REQUIRED. A
	// non-empty array of string arrays." Each inner array is one
	// alternative; all of its types must be present in the credential.
	TypeValues [][]string `json:"type_values,omitempty"`
	// DoctypeValue: mso_mdoc. Spec: Appendix B.2: "REQUIRED. String that
	// specifies an allowed value for the doctype".
	DoctypeValue string `json:"doctype_value,omitempty"`
}

// TrustedAuthority is a Trusted Authorities Query (OpenID4VP 1.0 §6.1.1).
// [Credential] uses the same type to list the authorities a stored
// credential can be traced to.
type TrustedAuthority struct {
	// Type is e.g. [TrustedAuthorityAKI].
	Type string `json:"type"`
	// Values: "REQUIRED. A non-empty array of strings".
	Values []string `json:"values"`
}

// ClaimsQuery requests one claim (OpenID4VP 1.0 §6.3).
type ClaimsQuery struct {
	// ID is REQUIRED when the Credential Query has claim_sets.
	ID string `json:"id,omitempty"`
	// Path is a claims path pointer (§7).
	Path Path `json:"path"`
	// Values, when present, are the acceptable values. Spec: §6.3: "A
	// non-empty array of strings, integers or boolean values". Elements are
	// string, int64 or bool ([Parse] never produces other types; Validate
	// also accepts int).
	Values []any `json:"values,omitempty"`
	// IntentToRetain: mso_mdoc only (Appendix B.2). Nil when absent.
	IntentToRetain *bool `json:"intent_to_retain,omitempty"`
}

// CredentialSetQuery constrains which combination of Credential Queries
// answers the request (OpenID4VP 1.0 §6.2).
type CredentialSetQuery struct {
	// Options are alternatives, most preferred first; each is a list of
	// Credential Query ids that together satisfy the use case.
	Options [][]string `json:"options"`
	// Required is nil when absent, which means true; use
	// [CredentialSetQuery.IsRequired].
	Required *bool `json:"required,omitempty"`
}

// IsRequired reports required with its default applied. Spec: §6.2: "If
// omitted, the default value is `true`."
func (s *CredentialSetQuery) IsRequired() bool { return s.Required == nil || *s.Required }

// validID reports whether id is a valid Credential Query or Claims Query id.
// Spec: §6.1: "The value MUST be a non-empty string consisting of
// alphanumeric, underscore (`_`), or hyphen (`-`) characters."
func validID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func checkID(id, p string) error {
	if len(id) > MaxIDLength {
		return errorf(CodeLimitExceeded, p, "id longer than %d bytes", MaxIDLength)
	}
	if !validID(id) {
		return errorf(CodeInvalidID, p, "id must match ^[a-zA-Z0-9_-]+$")
	}
	return nil
}

// Validate checks every rule of OpenID4VP 1.0 §6 and §7 that a query can
// break, and this package's limits. [Parse] calls it; call it yourself on a
// Query built in Go before sending it. Nil slices are absent members;
// empty non-nil slices are present and empty, which the spec forbids. The
// error is an [*Error].
func (q *Query) Validate() error {
	if q == nil {
		return errorf(CodeMissingParameter, "", "nil query")
	}
	if q.Credentials == nil {
		return errorf(CodeMissingParameter, "/credentials", "credentials is REQUIRED")
	}
	if len(q.Credentials) == 0 {
		return errorf(CodeEmptyArray, "/credentials", "credentials must be non-empty")
	}
	if len(q.Credentials) > MaxCredentialQueries {
		return errorf(CodeLimitExceeded, "/credentials", "more than %d credential queries", MaxCredentialQueries)
	}
	ids := make(map[string]struct{}, len(q.Credentials))
	for i := range q.Credentials {
		c := &q.Credentials[i]
		p := ptr("/credentials", i)
		if err := c.validate(p); err != nil {
			return err
		}
		// Spec: §6.1: "Within the Authorization Request, the same `id`
		// MUST NOT be present more than once."
		if _, dup := ids[c.ID]; dup {
			return errorf(CodeDuplicateID, p+"/id", "credential query id %q used twice", c.ID)
		}
		ids[c.ID] = struct{}{}
	}
	if q.CredentialSets != nil {
		if len(q.CredentialSets) == 0 {
			return errorf(CodeEmptyArray, "/credential_sets", "credential_sets must be non-empty when present")
		}
		if len(q.CredentialSets) > MaxCredentialSets {
			return errorf(CodeLimitExceeded, "/credential_sets", "more than %d credential sets", MaxCredentialSets)
		}
		for i := range q.CredentialSets {
			if err := q.CredentialSets[i].validate(ptr("/credential_sets", i), ids); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *CredentialSetQuery) validate(p string, ids map[string]struct{}) error {
	// Spec: §6.2: "options: REQUIRED A non-empty array, where each value in
	// the array is a list of Credential Query identifiers ... The value of
	// each element in the `options` array is a non-empty array of
	// identifiers which reference elements in `credentials`."
	if s.Options == nil {
		return errorf(CodeMissingParameter, p+"/options", "options is REQUIRED")
	}
	if len(s.Options) == 0 {
		return errorf(CodeEmptyArray, p+"/options", "options must be non-empty")
	}
	if len(s.Options) > MaxCredentialSets {
		return errorf(CodeLimitExceeded, p+"/options", "more than %d options", MaxCredentialSets)
	}
	for j, opt := range s.Options {
		op := ptr(p+"/options", j)
		if err := checkRefs(opt, op, ids, CodeUnknownCredentialID, "credential query"); err != nil {
			return err
		}
	}
	return nil
}

// checkRefs validates a non-empty list of ids that must each name a
// member of ids, at most once.
func checkRefs(refs []string, p string, ids map[string]struct{}, unknown Code, what string) error {
	if len(refs) == 0 {
		return errorf(CodeEmptyArray, p, "must be a non-empty array of ids")
	}
	// Each id is checked to exist before it is compared with the earlier
	// ones, so a duplicate shows up by index len(ids) at the latest and the
	// loop costs at most len(ids)² comparisons.
	for k, id := range refs {
		if _, ok := ids[id]; !ok {
			return errorf(unknown, ptr(p, k), "no %s has id %q", what, id)
		}
		for _, prev := range refs[:k] {
			if prev == id {
				return errorf(CodeDuplicateReference, ptr(p, k), "id %q listed twice", id)
			}
		}
	}
	return nil
}

func (c *CredentialQuery) validate(p string) error {
	if err := checkID(c.ID, p+"/id"); err != nil {
		return err
	}
	// Spec: §6.1: "format: REQUIRED. A string that specifies the format of
	// the requested Credential."
	if c.Format == "" {
		return errorf(CodeEmptyString, p+"/format", "format is REQUIRED")
	}
	if err := c.Meta.validate(c.Format, p+"/meta"); err != nil {
		return err
	}
	if c.TrustedAuthorities != nil {
		tp := p + "/trusted_authorities"
		if len(c.TrustedAuthorities) == 0 {
			return errorf(CodeEmptyArray, tp, "trusted_authorities must be non-empty when present")
		}
		if len(c.TrustedAuthorities) > MaxValues {
			return errorf(CodeLimitExceeded, tp, "more than %d trusted authorities", MaxValues)
		}
		for i, ta := range c.TrustedAuthorities {
			if err := ta.validate(ptr(tp, i)); err != nil {
				return err
			}
		}
	}
	if c.Claims == nil {
		// Spec: §6.4.1: "`claim_sets` MUST NOT be present if `claims` is
		// absent."
		if c.ClaimSets != nil {
			return errorf(CodeClaimSetsWithoutClaims, p+"/claim_sets", "claim_sets without claims")
		}
		return nil
	}
	cp := p + "/claims"
	if len(c.Claims) == 0 {
		return errorf(CodeEmptyArray, cp, "claims must be non-empty when present")
	}
	if len(c.Claims) > MaxClaims {
		return errorf(CodeLimitExceeded, cp, "more than %d claims", MaxClaims)
	}
	claimIDs := make(map[string]struct{}, len(c.Claims))
	for i := range c.Claims {
		cl := &c.Claims[i]
		ip := ptr(cp, i)
		if cl.ID != "" || c.ClaimSets != nil {
			// Spec: §6.3: "id: REQUIRED if `claim_sets` is present in the
			// Credential Query; OPTIONAL otherwise."
			if cl.ID == "" {
				return errorf(CodeMissingClaimID, ip+"/id", "claims need ids when claim_sets is present")
			}
			if err := checkID(cl.ID, ip+"/id"); err != nil {
				return err
			}
			// Spec: §6.3: "Within the particular `claims` array, the same
			// `id` MUST NOT be present more than once."
			if _, dup := claimIDs[cl.ID]; dup {
				return errorf(CodeDuplicateID, ip+"/id", "claim id %q used twice", cl.ID)
			}
			claimIDs[cl.ID] = struct{}{}
		}
		if err := cl.validate(c.Format, ip); err != nil {
			return err
		}
	}
	if c.ClaimSets != nil {
		sp := p + "/claim_sets"
		if len(c.ClaimSets) == 0 {
			return errorf(CodeEmptyArray, sp, "claim_sets must be non-empty when present")
		}
		if len(c.ClaimSets) > MaxClaimSets {
			return errorf(CodeLimitExceeded, sp, "more than %d claim sets", MaxClaimSets)
		}
		for i, set := range c.ClaimSets {
			if err := checkRefs(set, ptr(sp, i), claimIDs, CodeUnknownClaimID, "claims query"); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Meta) validate(format, p string) error {
	switch format {
	case FormatSDJWTVC:
		return checkStrings(m.VCTValues, p+"/vct_values")
	case FormatJWTVC, FormatLDPVC:
		tp := p + "/type_values"
		if m.TypeValues == nil {
			return errorf(CodeMissingParameter, tp, "type_values is REQUIRED for %s", format)
		}
		if len(m.TypeValues) == 0 {
			return errorf(CodeEmptyArray, tp, "type_values must be non-empty")
		}
		if len(m.TypeValues) > MaxValues {
			return errorf(CodeLimitExceeded, tp, "more than %d type alternatives", MaxValues)
		}
		for i, alt := range m.TypeValues {
			if err := checkStrings(alt, ptr(tp, i)); err != nil {
				return err
			}
		}
	case FormatMdoc:
		if m.DoctypeValue == "" {
			return errorf(CodeMissingParameter, p+"/doctype_value", "doctype_value is REQUIRED for %s", format)
		}
	}
	return nil
}

// checkStrings validates a REQUIRED non-empty array of non-empty strings.
func checkStrings(s []string, p string) error {
	if s == nil {
		return errorf(CodeMissingParameter, p, "REQUIRED member is absent")
	}
	if len(s) == 0 {
		return errorf(CodeEmptyArray, p, "must be non-empty")
	}
	if len(s) > MaxValues {
		return errorf(CodeLimitExceeded, p, "more than %d values", MaxValues)
	}
	for i, v := range s {
		if v == "" {
			return errorf(CodeEmptyString, ptr(p, i), "empty string")
		}
	}
	return nil
}

func (t *TrustedAuthority) validate(p string) error {
	if t.Type == "" {
		return errorf(CodeEmptyString, p+"/type", "type is REQUIRED")
	}
	return checkStrings(t.Values, p+"/values")
}

func (cl *ClaimsQuery) validate(format, p string) error {
	if err := cl.Path.validate(p + "/path"); err != nil {
		return err
	}
	if format == FormatMdoc {
		// Spec: §7.2.1: "If the claims path pointer does not contain exactly
		// two components or one of the components is not a string then
		// abort processing and return an error."
		_, ok0 := cl.Path[0].(string)
		ok1 := len(cl.Path) == 2
		if ok1 {
			_, ok1 = cl.Path[1].(string)
		}
		if !ok0 || !ok1 {
			return errorf(CodeInvalidPath, p+"/path", "an mdoc path is [namespace, data element identifier]")
		}
	}
	if cl.Values != nil {
		vp := p + "/values"
		if len(cl.Values) == 0 {
			return errorf(CodeEmptyArray, vp, "values must be non-empty when present")
		}
		if len(cl.Values) > MaxValues {
			return errorf(CodeLimitExceeded, vp, "more than %d values", MaxValues)
		}
		for i, v := range cl.Values {
			switch v.(type) {
			case string, bool, int64, int:
			default:
				return errorf(CodeInvalidValue, ptr(vp, i), "values are strings, integers or booleans, not %T", v)
			}
		}
	}
	return nil
}
