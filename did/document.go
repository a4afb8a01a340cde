package did

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Context URLs and verification method types.
const (
	// ContextV1 is the DID Core 1.0 JSON-LD context.
	ContextV1 = "https://www.w3.org/ns/did/v1"
	// ContextV1_1 is the DID Core 1.1 JSON-LD context, which defines
	// Multikey and JsonWebKey.
	ContextV1_1 = "https://www.w3.org/ns/did/v1.1"
	// ContextJWS2020 defines the legacy JsonWebKey2020 type (used by did:jwk).
	ContextJWS2020 = "https://w3id.org/security/suites/jws-2020/v1"

	// TypeMultikey is a verification method with publicKeyMultibase ([CID]
	// §2.2.2).
	TypeMultikey = "Multikey"
	// TypeJSONWebKey is a verification method with publicKeyJwk ([CID]
	// §2.2.3).
	TypeJSONWebKey = "JsonWebKey"
	// TypeJSONWebKey2020 is the legacy name of JsonWebKey, accepted on input
	// and emitted by did:jwk, whose spec prints it.
	TypeJSONWebKey2020 = "JsonWebKey2020"
	// TypeEd25519VerificationKey2020 is a legacy Ed25519-only Multikey,
	// accepted on input.
	TypeEd25519VerificationKey2020 = "Ed25519VerificationKey2020"
)

// Document limits, for parsing untrusted input.
const (
	// MaxDocumentSize is the largest DID document [ParseDocument] accepts,
	// and the default did:web response limit.
	MaxDocumentSize = 64 << 10
	// MaxEntries bounds the verification methods, the entries of each
	// verification relationship, the services, controller and alsoKnownAs.
	MaxEntries = 64
)

// Relationship is a verification relationship (DID Core §5.3).
type Relationship string

// The verification relationships of DID Core §5.3.1–§5.3.5.
const (
	Authentication       Relationship = "authentication"
	AssertionMethod      Relationship = "assertionMethod"
	KeyAgreement         Relationship = "keyAgreement"
	CapabilityInvocation Relationship = "capabilityInvocation"
	CapabilityDelegation Relationship = "capabilityDelegation"
)

// allRelationships lists every verification relationship in document order.
var allRelationships = []Relationship{Authentication, AssertionMethod, KeyAgreement, CapabilityInvocation, CapabilityDelegation}

// Document is a DID document (DID Core §4 Data Model, §5 Core Properties) in
// its JSON representation. Relative DID URLs (like "#key-1") are kept as
// written; [Document.ExpandRelativeURLs] makes them absolute, and every
// lookup resolves them against ID.
//
// Members the type does not define are kept in Extra, so that a document
// round-trips through [json.Unmarshal] and [json.Marshal].
type Document struct {
	// Context is "@context": each item is a string or a map[string]any.
	// A single string on input becomes a one-item slice.
	Context []any
	// ID is the DID of the subject ("id").
	ID string
	// Controller is "controller", a DID or a set of DIDs.
	Controller []string
	// AlsoKnownAs is "alsoKnownAs", a set of URIs.
	AlsoKnownAs []string
	// VerificationMethods is "verificationMethod".
	VerificationMethods []VerificationMethod

	Authentication       []VerificationRef
	AssertionMethod      []VerificationRef
	KeyAgreement         []VerificationRef
	CapabilityInvocation []VerificationRef
	CapabilityDelegation []VerificationRef

	// Service is "service".
	Service []Service

	// Extra holds the other members, by name, as raw JSON.
	Extra map[string]json.RawMessage
}

// VerificationMethod is a verification method (DID Core §5.2, [CID] §2.2).
// A Multikey carries PublicKeyMultibase; a JsonWebKey carries PublicKeyJwk,
// kept as the raw JSON object so that did:jwk documents keep their members.
type VerificationMethod struct {
	ID                 string
	Type               string
	Controller         string
	PublicKeyMultibase string
	PublicKeyJwk       json.RawMessage
	// Extra holds the other members ("expires", "revoked", legacy
	// "publicKeyBase58", …).
	Extra map[string]json.RawMessage
}

// VerificationRef is one entry of a verification relationship: "either a
// string which conforms to the rules [of a DID URL], or a map that conforms
// to the rules for verification methods" (DID Core §5.3). Exactly one of Ref
// and Embedded is set.
type VerificationRef struct {
	Ref      string
	Embedded *VerificationMethod
}

// Service is a service (DID Core §5.4). Type is a string or a set of strings;
// ServiceEndpoint is a string, a map[string]any, or a []any of those.
type Service struct {
	ID              string
	Type            []string
	ServiceEndpoint any
	Extra           map[string]json.RawMessage
}

var documentMembers = map[string]bool{
	"@context": true, "id": true, "controller": true, "alsoKnownAs": true,
	"verificationMethod": true, "authentication": true, "assertionMethod": true,
	"keyAgreement": true, "capabilityInvocation": true, "capabilityDelegation": true,
	"service": true,
}

var methodMembers = map[string]bool{
	"id": true, "type": true, "controller": true, "publicKeyMultibase": true, "publicKeyJwk": true,
}

var serviceMembers = map[string]bool{"id": true, "type": true, "serviceEndpoint": true}

// Relationship returns the entries of rel, or nil for an unknown rel.
func (d *Document) Relationship(rel Relationship) []VerificationRef {
	switch rel {
	case Authentication:
		return d.Authentication
	case AssertionMethod:
		return d.AssertionMethod
	case KeyAgreement:
		return d.KeyAgreement
	case CapabilityInvocation:
		return d.CapabilityInvocation
	case CapabilityDelegation:
		return d.CapabilityDelegation
	}
	return nil
}

func (d *Document) relationshipPtr(rel Relationship) *[]VerificationRef {
	switch rel {
	case Authentication:
		return &d.Authentication
	case AssertionMethod:
		return &d.AssertionMethod
	case KeyAgreement:
		return &d.KeyAgreement
	case CapabilityInvocation:
		return &d.CapabilityInvocation
	case CapabilityDelegation:
		return &d.CapabilityDelegation
	}
	return nil
}

// MarshalJSON writes the document with its members in DID Core order and the
// Extra members after them, sorted. A one-item Controller is written as a
// string.
func (d Document) MarshalJSON() ([]byte, error) {
	var w objectWriter
	if len(d.Context) > 0 {
		w.field("@context", d.Context)
	}
	w.field("id", d.ID)
	switch len(d.Controller) {
	case 0:
	case 1:
		w.field("controller", d.Controller[0])
	default:
		w.field("controller", d.Controller)
	}
	if len(d.AlsoKnownAs) > 0 {
		w.field("alsoKnownAs", d.AlsoKnownAs)
	}
	if len(d.VerificationMethods) > 0 {
		w.field("verificationMethod", d.VerificationMethods)
	}
	for _, rel := range allRelationships {
		if refs := d.Relationship(rel); len(refs) > 0 {
			w.field(string(rel), refs)
		}
	}
	if len(d.Service) > 0 {
		w.field("service", d.Service)
	}
	w.extra(d.Extra, documentMembers)
	return w.bytes()
}

// UnmarshalJSON decodes the JSON representation. It checks JSON types only;
// [ParseDocument] and [Document.Validate] check the rest.
func (d *Document) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		return errors.New("DID document is not a JSON object")
	}
	var out Document
	for k, raw := range m {
		var err error
		switch k {
		case "@context":
			out.Context, err = decodeContext(raw)
		case "id":
			err = decodeStrict(raw, &out.ID)
		case "controller":
			out.Controller, err = decodeStringOrSet(raw)
		case "alsoKnownAs":
			err = decodeStrict(raw, &out.AlsoKnownAs)
		case "verificationMethod":
			err = decodeStrict(raw, &out.VerificationMethods)
		case "authentication", "assertionMethod", "keyAgreement", "capabilityInvocation", "capabilityDelegation":
			err = decodeStrict(raw, out.relationshipPtr(Relationship(k)))
		case "service":
			err = decodeStrict(raw, &out.Service)
		default:
			if out.Extra == nil {
				out.Extra = make(map[string]json.RawMessage)
			}
			out.Extra[k] = compactRaw(raw)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	*d = out
	return nil
}

// MarshalJSON writes the method's members in [CID] order, then Extra.
func (vm VerificationMethod) MarshalJSON() ([]byte, error) {
	var w objectWriter
	w.field("id", vm.ID)
	w.field("type", vm.Type)
	w.field("controller", vm.Controller)
	if vm.PublicKeyMultibase != "" {
		w.field("publicKeyMultibase", vm.PublicKeyMultibase)
	}
	if len(vm.PublicKeyJwk) > 0 {
		w.field("publicKeyJwk", vm.PublicKeyJwk)
	}
	w.extra(vm.Extra, methodMembers)
	return w.bytes()
}

// UnmarshalJSON decodes a verification method object.
func (vm *VerificationMethod) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		return errors.New("verification method is not a JSON object")
	}
	var out VerificationMethod
	for k, raw := range m {
		var err error
		switch k {
		case "id":
			err = decodeStrict(raw, &out.ID)
		case "type":
			err = decodeStrict(raw, &out.Type)
		case "controller":
			err = decodeStrict(raw, &out.Controller)
		case "publicKeyMultibase":
			err = decodeStrict(raw, &out.PublicKeyMultibase)
		case "publicKeyJwk":
			if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
				err = errors.New("not a JSON object")
			} else {
				out.PublicKeyJwk = compactRaw(raw)
			}
		default:
			if out.Extra == nil {
				out.Extra = make(map[string]json.RawMessage)
			}
			out.Extra[k] = compactRaw(raw)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	*vm = out
	return nil
}

// MarshalJSON writes a reference as a string and an embedded method as an
// object.
func (r VerificationRef) MarshalJSON() ([]byte, error) {
	if r.Embedded != nil {
		if r.Ref != "" {
			return nil, errors.New("did: VerificationRef has both Ref and Embedded")
		}
		return json.Marshal(r.Embedded)
	}
	return json.Marshal(r.Ref)
}

// UnmarshalJSON accepts a string or a verification method object.
func (r *VerificationRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = VerificationRef{Ref: s}
		return nil
	}
	if len(b) > 0 && b[0] == '{' {
		vm := new(VerificationMethod)
		if err := json.Unmarshal(b, vm); err != nil {
			return err
		}
		*r = VerificationRef{Embedded: vm}
		return nil
	}
	return errors.New("verification relationship entry must be a string or an object")
}

// MarshalJSON writes the service; a one-item Type is written as a string.
func (s Service) MarshalJSON() ([]byte, error) {
	var w objectWriter
	w.field("id", s.ID)
	if len(s.Type) == 1 {
		w.field("type", s.Type[0])
	} else {
		w.field("type", s.Type)
	}
	w.field("serviceEndpoint", s.ServiceEndpoint)
	w.extra(s.Extra, serviceMembers)
	return w.bytes()
}

// UnmarshalJSON decodes a service object.
func (s *Service) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		return errors.New("service is not a JSON object")
	}
	var out Service
	for k, raw := range m {
		var err error
		switch k {
		case "id":
			err = decodeStrict(raw, &out.ID)
		case "type":
			out.Type, err = decodeStringOrSet(raw)
		case "serviceEndpoint":
			err = decodeStrict(raw, &out.ServiceEndpoint)
		default:
			if out.Extra == nil {
				out.Extra = make(map[string]json.RawMessage)
			}
			out.Extra[k] = compactRaw(raw)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	*s = out
	return nil
}

// EndpointURLs returns the string values of the service endpoint: the string
// itself, or the strings of a set. Maps are skipped.
func (s Service) EndpointURLs() []string {
	switch v := s.ServiceEndpoint.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if str, ok := e.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	return nil
}

// decodeStrict is json.Unmarshal that refuses null, which encoding/json
// would silently skip.
func decodeStrict(raw json.RawMessage, v any) error {
	if isJSONNull(raw) {
		return errors.New("null is not allowed")
	}
	return json.Unmarshal(raw, v)
}

func decodeStringOrSet(raw json.RawMessage) ([]string, error) {
	if isJSONNull(raw) {
		return nil, errors.New("null is not allowed")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []string{s}, nil
	}
	var set []string
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, errors.New("must be a string or an array of strings")
	}
	return set, nil
}

func decodeContext(raw json.RawMessage) ([]any, error) {
	var v any
	if err := decodeStrict(raw, &v); err != nil {
		return nil, err
	}
	switch c := v.(type) {
	case string:
		return []any{c}, nil
	case map[string]any:
		return []any{c}, nil
	case []any:
		for _, e := range c {
			switch e.(type) {
			case string, map[string]any:
			default:
				return nil, errors.New("items must be strings or objects")
			}
		}
		return c, nil
	}
	return nil, errors.New("must be a string, an object or an array")
}

// ParseDocument parses and validates a DID document in its JSON
// representation. It is strict: at most [MaxDocumentSize] bytes, no
// duplicate member names, no null values for defined members, and
// [Document.Validate]. Errors have CodeInvalidDIDDocument.
func ParseDocument(data []byte) (*Document, error) {
	if len(data) > MaxDocumentSize {
		return nil, errorf(CodeInvalidDIDDocument, "document larger than the limit", nil)
	}
	if err := checkJSON(data); err != nil {
		return nil, errorf(CodeInvalidDIDDocument, "malformed JSON", err)
	}
	doc := new(Document)
	if err := json.Unmarshal(data, doc); err != nil {
		return nil, errorf(CodeInvalidDIDDocument, "malformed document", err)
	}
	if err := doc.Validate(); err != nil {
		return nil, err
	}
	return doc, nil
}

// Validate checks the document against DID Core §5: id is a DID, controllers
// are DIDs, every verification method has an id (a DID URL, absolute or
// relative to id), a type, a controller DID and at most one of
// publicKeyMultibase and publicKeyJwk (a public JWK object), method ids are
// unique, relationship entries are DID URLs or valid embedded methods, and
// services have an id, a type and a serviceEndpoint. Counts are limited by
// [MaxEntries]. Errors have CodeInvalidDIDDocument.
func (d *Document) Validate() error {
	bad := func(detail string, err error) error { return errorf(CodeInvalidDIDDocument, detail, err) }
	base, err := Parse(d.ID)
	if err != nil {
		return bad("id is not a DID", err)
	}
	for _, c := range d.Context {
		switch c.(type) {
		case string, map[string]any:
		default:
			return bad("@context items must be strings or objects", nil)
		}
	}
	if len(d.Controller) > MaxEntries || len(d.AlsoKnownAs) > MaxEntries ||
		len(d.VerificationMethods) > MaxEntries || len(d.Service) > MaxEntries {
		return bad("too many entries", nil)
	}
	for _, c := range d.Controller {
		if _, err := Parse(c); err != nil {
			return bad("controller is not a DID", err)
		}
	}
	for _, a := range d.AlsoKnownAs {
		if !isAbsoluteURI(a) {
			return bad("alsoKnownAs item is not a URI", nil)
		}
	}
	seen := make(map[string]bool)
	for i := range d.VerificationMethods {
		id, err := validateMethod(base, &d.VerificationMethods[i])
		if err != nil {
			return bad("verificationMethod", err)
		}
		if seen[id] {
			return bad("duplicate verification method id", nil)
		}
		seen[id] = true
	}
	for _, rel := range allRelationships {
		refs := d.Relationship(rel)
		if len(refs) > MaxEntries {
			return bad("too many entries in "+string(rel), nil)
		}
		for _, r := range refs {
			switch {
			case r.Embedded != nil && r.Ref == "":
				id, err := validateMethod(base, r.Embedded)
				if err != nil {
					return bad(string(rel), err)
				}
				if seen[id] {
					return bad("duplicate verification method id", nil)
				}
				seen[id] = true
			case r.Embedded == nil && r.Ref != "":
				if _, err := ResolveReference(base, r.Ref); err != nil {
					return bad(string(rel)+" entry is not a DID URL", err)
				}
			default:
				return bad(string(rel)+" entry must be a reference or an embedded method", nil)
			}
		}
	}
	sids := make(map[string]bool)
	for _, s := range d.Service {
		id, err := validateService(base, s)
		if err != nil {
			return bad("service", err)
		}
		if sids[id] {
			return bad("duplicate service id", nil)
		}
		sids[id] = true
	}
	return nil
}

// validateMethod checks one verification method and returns its absolute id.
func validateMethod(base DID, vm *VerificationMethod) (string, error) {
	u, err := ResolveReference(base, vm.ID)
	if err != nil {
		return "", fmt.Errorf("id: %w", err)
	}
	if vm.Type == "" {
		return "", errors.New("type is missing")
	}
	if _, err := Parse(vm.Controller); err != nil {
		return "", fmt.Errorf("controller: %w", err)
	}
	if vm.PublicKeyMultibase != "" && len(vm.PublicKeyJwk) > 0 {
		// CID §2.2: "A verification method MUST NOT contain multiple
		// verification material properties for the same material."
		return "", errors.New("both publicKeyMultibase and publicKeyJwk")
	}
	if len(vm.PublicKeyJwk) > 0 {
		if err := checkPublicJWK(vm.PublicKeyJwk); err != nil {
			return "", fmt.Errorf("publicKeyJwk: %w", err)
		}
	}
	switch vm.Type {
	case TypeMultikey, TypeEd25519VerificationKey2020:
		if vm.PublicKeyMultibase == "" {
			return "", errors.New(vm.Type + " without publicKeyMultibase")
		}
	case TypeJSONWebKey, TypeJSONWebKey2020:
		if len(vm.PublicKeyJwk) == 0 {
			return "", errors.New(vm.Type + " without publicKeyJwk")
		}
	}
	return u.String(), nil
}

func validateService(base DID, s Service) (string, error) {
	id := s.ID
	if strings.HasPrefix(id, "#") || strings.HasPrefix(id, "did:") {
		u, err := ResolveReference(base, id)
		if err != nil {
			return "", fmt.Errorf("id: %w", err)
		}
		id = u.String()
	} else if !isAbsoluteURI(id) {
		return "", errors.New("id is not a URI")
	}
	if len(s.Type) == 0 || len(s.Type) > MaxEntries {
		return "", errors.New("type is missing")
	}
	for _, t := range s.Type {
		if t == "" {
			return "", errors.New("empty type")
		}
	}
	switch v := s.ServiceEndpoint.(type) {
	case string:
		if !isAbsoluteURI(v) {
			return "", errors.New("serviceEndpoint is not a URL")
		}
	case map[string]any:
	case []any:
		if len(v) == 0 || len(v) > MaxEntries {
			return "", errors.New("serviceEndpoint set is empty or too large")
		}
		for _, e := range v {
			switch e := e.(type) {
			case string:
				if !isAbsoluteURI(e) {
					return "", errors.New("serviceEndpoint item is not a URL")
				}
			case map[string]any:
			default:
				return "", errors.New("serviceEndpoint items must be strings or maps")
			}
		}
	default:
		return "", errors.New("serviceEndpoint must be a string, a map or a set")
	}
	return id, nil
}

func isAbsoluteURI(s string) bool {
	if s == "" || len(s) > MaxLength {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme != ""
}

// privateJWKMembers are the JWK members that hold private key material
// (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2).
var privateJWKMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// checkPublicJWK checks that raw is a JSON object with a string "kty" and no
// private key members.
func checkPublicJWK(raw json.RawMessage) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return errors.New("not a JSON object")
	}
	var kty string
	if err := json.Unmarshal(m["kty"], &kty); err != nil || kty == "" {
		return errors.New("kty is missing")
	}
	for _, p := range privateJWKMembers {
		if _, ok := m[p]; ok {
			return ErrPrivateKey
		}
	}
	return nil
}

// ExpandRelativeURLs replaces every relative DID URL in the ids of
// verification methods and services and in relationship references with the
// absolute DID URL it names (DID Resolution §Resolving, the
// expandRelativeUrls option).
func (d *Document) ExpandRelativeURLs() error {
	base, err := Parse(d.ID)
	if err != nil {
		return errorf(CodeInvalidDIDDocument, "id is not a DID", err)
	}
	abs := func(ref string) (string, error) {
		if strings.HasPrefix(ref, "did:") {
			return ref, nil
		}
		u, err := ResolveReference(base, ref)
		if err != nil {
			return "", errorf(CodeInvalidDIDDocument, "relative DID URL", err)
		}
		return u.String(), nil
	}
	for i := range d.VerificationMethods {
		if d.VerificationMethods[i].ID, err = abs(d.VerificationMethods[i].ID); err != nil {
			return err
		}
	}
	for _, rel := range allRelationships {
		for i, r := range d.Relationship(rel) {
			if r.Embedded != nil {
				if r.Embedded.ID, err = abs(r.Embedded.ID); err != nil {
					return err
				}
				continue
			}
			if (*d.relationshipPtr(rel))[i].Ref, err = abs(r.Ref); err != nil {
				return err
			}
		}
	}
	for i, s := range d.Service {
		if strings.HasPrefix(s.ID, "#") || strings.HasPrefix(s.ID, "/") || strings.HasPrefix(s.ID, "?") {
			if d.Service[i].ID, err = abs(s.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// hasRelativeURL reports whether any id or reference is a relative DID URL.
func (d *Document) hasRelativeURL() bool {
	rel := func(s string) bool { return !strings.HasPrefix(s, "did:") }
	for _, vm := range d.VerificationMethods {
		if rel(vm.ID) {
			return true
		}
	}
	for _, r := range allRelationships {
		for _, e := range d.Relationship(r) {
			if e.Embedded != nil && rel(e.Embedded.ID) || e.Embedded == nil && rel(e.Ref) {
				return true
			}
		}
	}
	for _, s := range d.Service {
		if strings.HasPrefix(s.ID, "#") || strings.HasPrefix(s.ID, "/") || strings.HasPrefix(s.ID, "?") {
			return true
		}
	}
	return false
}

// Clone returns a deep copy of d.
func (d *Document) Clone() *Document {
	if d == nil {
		return nil
	}
	c := *d
	c.Context = cloneAnySlice(d.Context)
	c.Controller = cloneStrings(d.Controller)
	c.AlsoKnownAs = cloneStrings(d.AlsoKnownAs)
	if d.VerificationMethods != nil {
		c.VerificationMethods = make([]VerificationMethod, len(d.VerificationMethods))
		for i := range d.VerificationMethods {
			c.VerificationMethods[i] = d.VerificationMethods[i].clone()
		}
	}
	for _, rel := range allRelationships {
		src := d.Relationship(rel)
		if src == nil {
			continue
		}
		dst := make([]VerificationRef, len(src))
		for i, r := range src {
			dst[i] = VerificationRef{Ref: r.Ref}
			if r.Embedded != nil {
				vm := r.Embedded.clone()
				dst[i].Embedded = &vm
			}
		}
		*c.relationshipPtr(rel) = dst
	}
	if d.Service != nil {
		c.Service = make([]Service, len(d.Service))
		for i, s := range d.Service {
			c.Service[i] = Service{
				ID:              s.ID,
				Type:            cloneStrings(s.Type),
				ServiceEndpoint: cloneAny(s.ServiceEndpoint),
				Extra:           cloneRawMap(s.Extra),
			}
		}
	}
	c.Extra = cloneRawMap(d.Extra)
	return &c
}

func (vm *VerificationMethod) clone() VerificationMethod {
	c := *vm
	if vm.PublicKeyJwk != nil {
		c.PublicKeyJwk = append(json.RawMessage(nil), vm.PublicKeyJwk...)
	}
	c.Extra = cloneRawMap(vm.Extra)
	return c
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}

func cloneRawMap(m map[string]json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		return nil
	}
	c := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		c[k] = append(json.RawMessage(nil), v...)
	}
	return c
}

func cloneAnySlice(s []any) []any {
	if s == nil {
		return nil
	}
	c := make([]any, len(s))
	for i, v := range s {
		c[i] = cloneAny(v)
	}
	return c
}

func cloneAny(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, e := range v {
			c[k] = cloneAny(e)
		}
		return c
	case []any:
		return cloneAnySlice(v)
	}
	return v
}
