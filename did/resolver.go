package did

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Media types (DID Resolution §DID Resolution Result; DID Core §6.2).
const (
	// MediaTypeDIDResolution is the media type of a [Result] in JSON.
	MediaTypeDIDResolution = "application/did-resolution"
	// MediaTypeDID is the media type of a DID document (DID Core 1.1).
	MediaTypeDID = "application/did"
	// MediaTypeDIDJSON is the DID Core 1.0 JSON media type.
	MediaTypeDIDJSON = "application/did+json"
	// MediaTypeDIDLDJSON is the DID Core 1.0 JSON-LD media type.
	MediaTypeDIDLDJSON = "application/did+ld+json"
)

// Resolver resolves a DID into a DID document and its metadata: DID
// Resolution §DID Resolution, resolve(did, resolutionOptions) →
// « didResolutionMetadata, didDocument, didDocumentMetadata ».
//
// Contract for implementations:
//   - On success Resolve MUST return a nil error and a Result whose Document
//     is non-nil and whose Document.ID equals did ("The value of id in the
//     resolved DID document MUST be string equal to the DID that was
//     resolved").
//   - On failure Resolve MUST return an error whose chain holds an *[Error]
//     with the Code of DID Resolution §Errors (CodeInvalidDID,
//     CodeMethodNotSupported, CodeNotFound, CodeInternalError, …). The
//     Result MAY then be nil.
//   - For a deactivated DID, Resolve MUST return an *[Error] with
//     [CodeDeactivated] TOGETHER WITH a non-nil Result whose
//     DocumentMetadata.Deactivated is true (Document may be nil, as DID
//     Resolution returns none). Callers that only check the error thus fail
//     closed; the HTTP binding uses the Result to answer 410.
//   - Resolve MUST NOT keep or modify the returned Result afterwards, and
//     callers own it.
type Resolver interface {
	Resolve(ctx context.Context, did string, opts ResolveOptions) (*Result, error)
}

// ResolverFunc adapts a function to the [Resolver] interface.
type ResolverFunc func(ctx context.Context, did string, opts ResolveOptions) (*Result, error)

// Resolve calls f.
func (f ResolverFunc) Resolve(ctx context.Context, did string, opts ResolveOptions) (*Result, error) {
	return f(ctx, did, opts)
}

// ResolveOptions are the DID resolution options (DID Resolution §DID
// Resolution Options). The zero value asks for the latest version in the
// default representation.
type ResolveOptions struct {
	// Accept is "accept", the media type of the preferred representation.
	Accept string
	// ExpandRelativeURLs is "expandRelativeUrls".
	ExpandRelativeURLs bool
	// VersionID is "versionId": a method-specific version to resolve.
	VersionID string
	// VersionTime is "versionTime": resolve the version valid at this time.
	// Spec: DID Resolution §Versioning: "The DID parameters versionId and
	// versionTime are mutually exclusive."
	VersionTime time.Time
}

// Validate checks the options that every method shares; errors have
// CodeInvalidOptions.
func (o ResolveOptions) Validate() error {
	if o.VersionID != "" && !o.VersionTime.IsZero() {
		return errorf(CodeInvalidOptions, "versionId and versionTime are mutually exclusive", nil)
	}
	if len(o.VersionID) > MaxLength || len(o.Accept) > MaxLength {
		return errorf(CodeInvalidOptions, "option too long", nil)
	}
	return nil
}

// Result is a DID resolution result (DID Resolution §DID Resolution Result),
// whose JSON form has the media type [MediaTypeDIDResolution].
type Result struct {
	Document           *Document          `json:"didDocument"`
	DocumentMetadata   DocumentMetadata   `json:"didDocumentMetadata"`
	ResolutionMetadata ResolutionMetadata `json:"didResolutionMetadata"`
}

// DocumentMetadata is didDocumentMetadata (DID Resolution §DID Document
// Metadata). Times are written in the datetime form of DID Core §4
// (RFC 3339, UTC, whole seconds); zero times and empty values are left out.
type DocumentMetadata struct {
	// Created is "created": the time of the Create operation.
	Created time.Time
	// Updated is "updated": the time of the last Update of this version.
	Updated time.Time
	// Deactivated is "deactivated"; "If a DID has been deactivated, DID
	// document metadata MUST include this property with the boolean value
	// true."
	Deactivated bool
	// NextUpdate is "nextUpdate": when the resolved version is not the
	// latest, the time of the next Update.
	NextUpdate time.Time
	// VersionID is "versionId": the version of the last Update of this
	// version.
	VersionID string
	// NextVersionID is "nextVersionId": when the resolved version is not
	// the latest, the version of the next Update.
	NextVersionID string
	// EquivalentID is "equivalentId".
	EquivalentID []string
	// CanonicalID is "canonicalId".
	CanonicalID string
	// Proof is "proof", "a set where each item is a map that represents a
	// proof" whose types are method-specific. Spec: DID Resolution
	// §Verifiable Resolution: "A DID method MAY also include such proofs
	// [...] in a proof property of the DID document metadata." This is the
	// slot for a registry's inclusion proofs (e.g. {"logIndex",
	// "checkpoint", "inclusionProof"}).
	Proof []json.RawMessage
	// Extra holds the other members, e.g. method-specific metadata.
	Extra map[string]json.RawMessage
}

// ResolutionMetadata is didResolutionMetadata (DID Resolution §DID Resolution
// Metadata).
type ResolutionMetadata struct {
	// ContentType is "contentType", the media type of the document.
	ContentType string
	// Error is "error", an RFC 9457 problem; set only on failure.
	Error *Problem
	// Proof is "proof": proofs made by the resolver itself, which are
	// "DID method-independent" (DID Resolution §Verifiable Resolution).
	// Method proofs belong in [DocumentMetadata.Proof], but a resolver that
	// vouches for a registry's log may also put them here.
	Proof []json.RawMessage
	// Extra holds the other members ("retrieved", "duration", …).
	Extra map[string]json.RawMessage
}

// Problem is the RFC 9457 error object of didResolutionMetadata. Type is a
// URI such as https://www.w3.org/ns/did#NOT_FOUND (see [Code.URI]).
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Err turns a problem received from a remote resolver back into an *Error.
// A type that is not one of this package's codes under
// https://www.w3.org/ns/did# becomes CodeInternalError.
func (p *Problem) Err() *Error {
	if p == nil {
		return nil
	}
	code := CodeInternalError
	if c, ok := strings.CutPrefix(p.Type, problemTypeBase); ok && knownCodes[Code(c)] {
		code = Code(c)
	}
	return &Error{Code: code, Description: p.Detail}
}

var knownCodes = map[Code]bool{
	CodeInvalidDID: true, CodeInvalidDIDDocument: true, CodeNotFound: true,
	CodeRepresentationNotSupported: true, CodeInvalidDIDURL: true, CodeMethodNotSupported: true,
	CodeInvalidOptions: true, CodeInternalError: true, CodeFeatureNotSupported: true,
	CodeInvalidVerificationMethod: true, CodeInvalidRelationshipForVerificationMethod: true,
	CodeDeactivated: true,
}

var documentMetadataMembers = map[string]bool{
	"created": true, "updated": true, "deactivated": true, "nextUpdate": true, "versionId": true,
	"nextVersionId": true, "equivalentId": true, "canonicalId": true, "proof": true,
}

var resolutionMetadataMembers = map[string]bool{"contentType": true, "error": true, "proof": true}

// formatTime writes a DID Core datetime: "normalized to UTC 00:00:00 and
// without sub-second decimal precision" (DID Core §4 datetime).
func formatTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// MarshalJSON writes the metadata members that are set, then Extra.
func (m DocumentMetadata) MarshalJSON() ([]byte, error) {
	var w objectWriter
	if !m.Created.IsZero() {
		w.field("created", formatTime(m.Created))
	}
	if !m.Updated.IsZero() {
		w.field("updated", formatTime(m.Updated))
	}
	if m.Deactivated {
		w.field("deactivated", true)
	}
	if !m.NextUpdate.IsZero() {
		w.field("nextUpdate", formatTime(m.NextUpdate))
	}
	if m.VersionID != "" {
		w.field("versionId", m.VersionID)
	}
	if m.NextVersionID != "" {
		w.field("nextVersionId", m.NextVersionID)
	}
	if len(m.EquivalentID) > 0 {
		w.field("equivalentId", m.EquivalentID)
	}
	if m.CanonicalID != "" {
		w.field("canonicalId", m.CanonicalID)
	}
	if len(m.Proof) > 0 {
		w.field("proof", m.Proof)
	}
	w.extra(m.Extra, documentMetadataMembers)
	return w.bytes()
}

// UnmarshalJSON decodes didDocumentMetadata.
func (m *DocumentMetadata) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var out DocumentMetadata
	for k, v := range raw {
		var err error
		switch k {
		case "created":
			out.Created, err = parseTime(v)
		case "updated":
			out.Updated, err = parseTime(v)
		case "nextUpdate":
			out.NextUpdate, err = parseTime(v)
		case "deactivated":
			err = decodeStrict(v, &out.Deactivated)
		case "versionId":
			err = decodeStrict(v, &out.VersionID)
		case "nextVersionId":
			err = decodeStrict(v, &out.NextVersionID)
		case "equivalentId":
			err = decodeStrict(v, &out.EquivalentID)
		case "canonicalId":
			err = decodeStrict(v, &out.CanonicalID)
		case "proof":
			out.Proof, err = decodeProofs(v)
		default:
			if out.Extra == nil {
				out.Extra = make(map[string]json.RawMessage)
			}
			out.Extra[k] = compactRaw(v)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	*m = out
	return nil
}

// MarshalJSON writes the metadata members that are set, then Extra.
func (m ResolutionMetadata) MarshalJSON() ([]byte, error) {
	var w objectWriter
	if m.ContentType != "" {
		w.field("contentType", m.ContentType)
	}
	if m.Error != nil {
		w.field("error", m.Error)
	}
	if len(m.Proof) > 0 {
		w.field("proof", m.Proof)
	}
	w.extra(m.Extra, resolutionMetadataMembers)
	return w.bytes()
}

// UnmarshalJSON decodes didResolutionMetadata.
func (m *ResolutionMetadata) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var out ResolutionMetadata
	for k, v := range raw {
		var err error
		switch k {
		case "contentType":
			err = decodeStrict(v, &out.ContentType)
		case "error":
			out.Error = new(Problem)
			err = decodeStrict(v, out.Error)
		case "proof":
			out.Proof, err = decodeProofs(v)
		default:
			if out.Extra == nil {
				out.Extra = make(map[string]json.RawMessage)
			}
			out.Extra[k] = compactRaw(v)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	*m = out
	return nil
}

func parseTime(v json.RawMessage) (time.Time, error) {
	var s string
	if err := decodeStrict(v, &s); err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339, s)
}

// decodeProofs accepts a set of maps, or a single map, which it makes a set.
func decodeProofs(v json.RawMessage) ([]json.RawMessage, error) {
	var set []json.RawMessage
	if err := decodeStrict(v, &set); err != nil {
		var one map[string]json.RawMessage
		if err2 := decodeStrict(v, &one); err2 != nil {
			return nil, errors.New("proof must be a map or a set of maps")
		}
		return []json.RawMessage{compactRaw(v)}, nil
	}
	for i, p := range set {
		if len(p) == 0 || p[0] != '{' {
			return nil, errors.New("proof items must be maps")
		}
		set[i] = compactRaw(p)
	}
	return set, nil
}

// ResolveKey resolves the DID of didURL with r and returns the public key of
// the verification method the DID URL names, provided the document
// authorizes it for rel (see [Document.KeyFor]). It is how a verifier turns a
// JOSE "kid" into a key when the issuer is a DID.
//
// didURL must be an absolute DID URL with a fragment and no path. Its query
// may hold only the DID parameters versionId or versionTime, which become
// resolution options. A deactivated DID fails with [CodeDeactivated].
func ResolveKey(ctx context.Context, r Resolver, didURL string, rel Relationship) (crypto.PublicKey, error) {
	u, err := ParseURL(didURL)
	if err != nil {
		return nil, err
	}
	if u.Fragment == "" || u.Path != "" {
		return nil, errorf(CodeInvalidDIDURL, "key id must be a DID URL with a fragment and no path", nil)
	}
	var opts ResolveOptions
	params, err := u.Params()
	if err != nil {
		return nil, err
	}
	for name, v := range params {
		switch name {
		case "versionId":
			opts.VersionID = v[0]
		case "versionTime":
			t, err := time.Parse(time.RFC3339, v[0])
			if err != nil {
				return nil, errorf(CodeInvalidDIDURL, "versionTime is not a datetime", err)
			}
			opts.VersionTime = t
		default:
			return nil, errorf(CodeInvalidDIDURL, "unsupported DID parameter "+strconvQuote(name), nil)
		}
	}
	if err := opts.Validate(); err != nil {
		return nil, errorf(CodeInvalidDIDURL, "conflicting DID parameters", err)
	}
	did := u.DID.String()
	res, err := r.Resolve(ctx, did, opts)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", did, err)
	}
	if res == nil {
		return nil, errorf(CodeInternalError, "resolver returned no result", nil)
	}
	if res.DocumentMetadata.Deactivated {
		return nil, errorf(CodeDeactivated, "DID is deactivated", nil)
	}
	if res.Document == nil || res.Document.ID != did {
		return nil, errorf(CodeInvalidDIDDocument, "resolver returned a document of another DID", nil)
	}
	frag := URL{DID: u.DID, Fragment: u.Fragment}
	return res.Document.KeyFor(rel, frag.String())
}
