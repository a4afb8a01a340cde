package didregistry

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/tongid/tong/did"
)

// ServiceTypeCredentialIssuer is the DID document service type whose
// serviceEndpoint is the agency's OpenID4VCI Credential Issuer Identifier
// (the iss of its credentials). The registry indexes it, so a verifier
// finds the agency's DID from a credential's iss.
const ServiceTypeCredentialIssuer = "OpenID4VCICredentialIssuer"

// Entry is one operation in the log.
type Entry struct {
	Index int64  `json:"logIndex"`
	Leaf  []byte `json:"-"`
}

// IssuerURLs returns the credential issuer URLs a DID document names.
func IssuerURLs(rawDoc json.RawMessage) []string {
	if !bytes.Contains(rawDoc, []byte(ServiceTypeCredentialIssuer)) {
		return nil
	}
	doc, err := did.ParseDocument(rawDoc)
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range doc.Service {
		isIssuer := false
		for _, t := range s.Type {
			isIssuer = isIssuer || t == ServiceTypeCredentialIssuer
		}
		if u, ok := s.ServiceEndpoint.(string); ok && isIssuer && strings.HasPrefix(u, "http") {
			out = append(out, strings.TrimSuffix(u, "/"))
		}
	}
	return out
}

// MaxIssuerURL bounds a bound issuer URL.
const MaxIssuerURL = 2048

// validIssuerURL reports whether u can be a bound Credential Issuer
// Identifier: an http(s) URL with a host and no query or fragment
// (OpenID4VCI 1.0 §11.2.1), written without a trailing slash, which is
// the form IssuerURLs gives.
func validIssuerURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && len(u) <= MaxIssuerURL && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" &&
		p.User == nil && p.RawQuery == "" && !p.ForceQuery && p.Fragment == "" && !strings.HasSuffix(u, "/") && !strings.ContainsAny(u, " \t\r\n")
}

// BoundIssuer is the issuer URL op binds to a DID, or "": only the trust
// authority's issuer accreditation naming a credentialIssuer binds one
// (docs/did-method-tong.md §8). The newest such accreditation of a URL
// holds; the subject's deactivation releases it.
func (op *Operation) BoundIssuer() (issuerURL, subject string) {
	if op.Type != OpAccredit || op.Accreditation == nil || op.Accreditation.CredentialIssuer == "" {
		return "", ""
	}
	return op.Accreditation.CredentialIssuer, op.Accreditation.Subject
}

// CheckIssuerURLs refuses (CodeIssuerURLTaken) an operation whose document
// names an issuer URL that boundTo says is bound to another DID. boundTo
// returns "" for an unbound URL. A document that names an unbound URL is
// accepted, but binds nothing.
// Spec: docs/did-method-tong.md §8: "A create or update whose document
// names a URL bound to another DID is refused".
func CheckIssuerURLs(op *Operation, boundTo func(issuerURL string) (string, error)) error {
	if op.Document == nil || (op.Type != OpCreate && op.Type != OpUpdate) {
		return nil
	}
	for _, u := range IssuerURLs(op.Document) {
		d, err := boundTo(u)
		if err != nil {
			return err
		}
		if d != "" && d != op.DID {
			return &Error{Code: CodeIssuerURLTaken, Description: "the trust authority bound issuer " + u + " to another DID"}
		}
	}
	return nil
}

// Replay validates a DID's whole chain from its genesis and returns the
// state after each operation. It is what a client runs on the chain the
// registry serves, so that it trusts the registry for nothing but the
// order of operations (which the log's proofs pin down).
func Replay(rules Rules, chain []Entry, now time.Time) ([]*State, error) {
	var states []*State
	var head *State
	for _, e := range chain {
		op, err := ParseOperation(e.Leaf)
		if err != nil {
			return nil, err
		}
		next, err := rules.Validate(head, op, e.Leaf, now)
		if err != nil {
			return nil, err
		}
		next.LogIndex = e.Index
		states = append(states, next)
		head = next
	}
	if len(states) == 0 {
		return nil, &Error{Code: CodeNotFound, Description: "empty chain"}
	}
	return states, nil
}

// ReplayTrusted rebuilds the states of a chain the registry itself
// validated when it appended it: it applies the same rules but skips the
// signature and document checks. Clients use Replay.
func ReplayTrusted(chain []Entry) ([]*State, error) {
	var states []*State
	var head *State
	for _, e := range chain {
		next, _, err := ApplyTrusted(head, e)
		if err != nil {
			return nil, err
		}
		states = append(states, next)
		head = next
	}
	if len(states) == 0 {
		return nil, &Error{Code: CodeNotFound, Description: "empty chain"}
	}
	return states, nil
}

// PickState returns the index of the state that versionId or versionTime
// selects (the newest without either), or a *did.Error with
// did.CodeNotFound.
func PickState(states []*State, opts did.ResolveOptions) (int, error) {
	pick := len(states) - 1
	switch {
	case opts.VersionID != "":
		pick = -1
		for i, s := range states {
			if s.VersionID() == opts.VersionID {
				pick = i
			}
		}
		if pick < 0 {
			return 0, &did.Error{Code: did.CodeNotFound, Description: "no version " + opts.VersionID}
		}
	case !opts.VersionTime.IsZero():
		pick = -1
		for i, s := range states {
			if !s.VersionTime.After(opts.VersionTime) {
				pick = i
			}
		}
		if pick < 0 {
			return 0, &did.Error{Code: did.CodeNotFound, Description: "the DID did not exist at " + FormatTime(opts.VersionTime)}
		}
	}
	if pick < 0 {
		return 0, &did.Error{Code: did.CodeNotFound, Description: "no versions"}
	}
	return pick, nil
}

// ApplyTrusted is one step of ReplayTrusted: the state after entry e,
// which follows head (nil for the genesis), and the parsed operation. The
// state's strings may share memory with e.Leaf.
func ApplyTrusted(head *State, e Entry) (*State, *Operation, error) {
	op, err := ParseOperation(e.Leaf)
	if err != nil {
		return nil, nil, err
	}
	if op.Proof == nil {
		return nil, nil, errorf(CodeInvalidSignature, "operation %d has no proof", e.Index)
	}
	op.checked = op.Proof.VerificationMethod
	rules := Rules{TrustAuthority: op.DID} // accreditations were checked on append
	next, err := rules.Validate(head, op, e.Leaf, time.Now().Add(100*365*24*time.Hour))
	if err != nil {
		return nil, nil, err
	}
	next.LogIndex = e.Index
	return next, op, nil
}

// ResolveStates builds a DID resolution result from the states of a
// replayed chain, honouring versionId and versionTime. A deactivated DID
// resolves with CodeDeactivated and a result whose metadata says so.
func ResolveStates(id string, states []*State, opts did.ResolveOptions) (*did.Result, *State, error) {
	pick, err := PickState(states, opts)
	if err != nil {
		return nil, nil, err
	}
	s := states[pick]
	meta := did.DocumentMetadata{Created: states[0].Created, VersionID: s.VersionID()}
	if pick > 0 {
		meta.Updated = s.VersionTime
	}
	if pick < len(states)-1 {
		meta.NextVersionID = states[pick+1].VersionID()
		meta.NextUpdate = states[pick+1].VersionTime
	}
	res := &did.Result{DocumentMetadata: meta, ResolutionMetadata: did.ResolutionMetadata{ContentType: did.MediaTypeDIDResolution}}
	if s.Deactivated {
		res.DocumentMetadata.Deactivated = true
		return res, s, &did.Error{Code: did.CodeDeactivated, Description: id + " is deactivated"}
	}
	doc, err := did.ParseDocument(s.Document)
	if err != nil {
		return nil, nil, &did.Error{Code: did.CodeInvalidDIDDocument, Description: err.Error(), Err: err}
	}
	res.Document = doc
	return res, s, nil
}
