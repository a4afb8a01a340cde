package did

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// Multi is a [Resolver] that dispatches each DID to the resolver of its
// method, as a DID resolver does in DID Resolution §DID Resolution Algorithm:
// it checks the DID syntax (CodeInvalidDID), the method (CodeMethodNotSupported)
// and the common options (CodeInvalidOptions), then calls the method's
// resolver and checks its answer: the document's id must equal the DID, and
// an error without a Code becomes CodeInternalError. It applies the
// expandRelativeUrls option itself.
//
// A Multi is immutable and safe for concurrent use.
type Multi struct {
	methods map[string]Resolver
}

var _ Resolver = (*Multi)(nil)

// NewMulti returns a Multi for the given methods, keyed by method name
// ("key", "jwk", "web", "tong", …).
func NewMulti(methods map[string]Resolver) (*Multi, error) {
	m := &Multi{methods: make(map[string]Resolver, len(methods))}
	for name, r := range methods {
		if _, err := Parse("did:" + name + ":x"); err != nil || name == "" {
			return nil, fmt.Errorf("did: invalid method name %s", strconvQuote(name))
		}
		if r == nil {
			return nil, fmt.Errorf("did: nil resolver for method %s", name)
		}
		m.methods[name] = r
	}
	return m, nil
}

// Methods returns the supported method names, sorted.
func (m *Multi) Methods() []string {
	out := make([]string, 0, len(m.methods))
	for name := range m.methods {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Resolve implements [Resolver].
func (m *Multi) Resolve(ctx context.Context, did string, opts ResolveOptions) (*Result, error) {
	d, err := Parse(did)
	if err != nil {
		return nil, err
	}
	r, ok := m.methods[d.Method]
	if !ok {
		return nil, errorf(CodeMethodNotSupported, "DID method "+strconvQuote(d.Method)+" is not supported", nil)
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	res, err := r.Resolve(ctx, did, opts)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			err = errorf(CodeInternalError, "resolution failed", err)
		}
		return res, err
	}
	if res == nil || res.Document == nil {
		return nil, errorf(CodeInternalError, "resolver returned no document", nil)
	}
	if res.Document.ID != did {
		// Spec: "The value of id in the resolved DID document MUST be string
		// equal to the DID that was resolved."
		return nil, errorf(CodeInvalidDIDDocument, "document id does not match the DID", nil)
	}
	if opts.ExpandRelativeURLs {
		if err := res.Document.ExpandRelativeURLs(); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// Clone returns a deep copy of r.
func (r *Result) Clone() *Result {
	if r == nil {
		return nil
	}
	c := &Result{Document: r.Document.Clone()}
	c.DocumentMetadata = r.DocumentMetadata
	c.DocumentMetadata.EquivalentID = cloneStrings(r.DocumentMetadata.EquivalentID)
	c.DocumentMetadata.Proof = cloneRaws(r.DocumentMetadata.Proof)
	c.DocumentMetadata.Extra = cloneRawMap(r.DocumentMetadata.Extra)
	c.ResolutionMetadata = r.ResolutionMetadata
	if p := r.ResolutionMetadata.Error; p != nil {
		pc := *p
		c.ResolutionMetadata.Error = &pc
	}
	c.ResolutionMetadata.Proof = cloneRaws(r.ResolutionMetadata.Proof)
	c.ResolutionMetadata.Extra = cloneRawMap(r.ResolutionMetadata.Extra)
	return c
}

func cloneRaws[T ~[]byte](s []T) []T {
	if s == nil {
		return nil
	}
	c := make([]T, len(s))
	for i, v := range s {
		c[i] = append(T(nil), v...)
	}
	return c
}
