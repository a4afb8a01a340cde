package did

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ed25519"
	"errors"
	"fmt"
)

// VerificationMethod returns the verification method whose id is idOrRef,
// an absolute DID URL or one relative to d.ID (like "#key-1"). It looks in
// verificationMethod and in the methods embedded in relationships. A missing
// method gives CodeNotFound; a malformed reference CodeInvalidDIDURL.
func (d *Document) VerificationMethod(idOrRef string) (*VerificationMethod, error) {
	base, err := Parse(d.ID)
	if err != nil {
		return nil, errorf(CodeInvalidDIDDocument, "id is not a DID", err)
	}
	want, err := ResolveReference(base, idOrRef)
	if err != nil {
		return nil, err
	}
	if vm := d.methodByID(base, want.String(), true); vm != nil {
		return vm, nil
	}
	return nil, errorf(CodeNotFound, "no verification method "+strconvQuote(idOrRef), nil)
}

// methodByID finds a method by absolute id; embedded says whether methods
// embedded in relationships count.
func (d *Document) methodByID(base DID, id string, embedded bool) *VerificationMethod {
	for i := range d.VerificationMethods {
		if sameRef(base, d.VerificationMethods[i].ID, id) {
			return &d.VerificationMethods[i]
		}
	}
	if embedded {
		for _, rel := range allRelationships {
			for _, r := range d.Relationship(rel) {
				if r.Embedded != nil && sameRef(base, r.Embedded.ID, id) {
					return r.Embedded
				}
			}
		}
	}
	return nil
}

// sameRef reports whether ref, resolved against base, is the absolute id.
func sameRef(base DID, ref, id string) bool {
	if ref == id {
		return true
	}
	if len(ref) == 0 || ref[0] == 'd' {
		return false
	}
	u, err := ResolveReference(base, ref)
	return err == nil && u.String() == id
}

// KeyFor returns the public key of the verification method kid if, and only
// if, d authorizes it for rel. kid is a DID URL of d's DID, absolute or
// relative ("#key-1").
//
// Spec: DID Resolution §Dereferencing the Fragment: "If verificationMethod is
// not associated, either by reference (URL) or by value (object), with the
// verification relationship array [...] an error MUST be raised and SHOULD
// convey an error type of INVALID_RELATIONSHIP_FOR_VERIFICATION_METHOD."
//
// Errors: CodeInvalidDIDURL for a malformed kid or one of another DID,
// CodeNotFound when no method has that id,
// CodeInvalidRelationshipForVerificationMethod when it exists but is not
// listed under rel, and CodeInvalidVerificationMethod when its key cannot be
// used (see [PublicKey]; also a revoked method, or an X25519 key for a
// signing relationship).
func (d *Document) KeyFor(rel Relationship, kid string) (crypto.PublicKey, error) {
	base, err := Parse(d.ID)
	if err != nil {
		return nil, errorf(CodeInvalidDIDDocument, "id is not a DID", err)
	}
	if d.relationshipPtr(rel) == nil {
		return nil, errorf(CodeInvalidOptions, "unknown verification relationship "+strconvQuote(string(rel)), nil)
	}
	want, err := ResolveReference(base, kid)
	if err != nil {
		return nil, err
	}
	if want.DID != base {
		return nil, errorf(CodeInvalidDIDURL, "key id names another DID", nil)
	}
	id := want.String()
	var vm *VerificationMethod
	for _, r := range d.Relationship(rel) {
		if r.Embedded != nil {
			if sameRef(base, r.Embedded.ID, id) {
				vm = r.Embedded
				break
			}
			continue
		}
		if sameRef(base, r.Ref, id) {
			// A reference must name a method of verificationMethod; a
			// method embedded in another relationship is only for that one.
			if vm = d.methodByID(base, id, false); vm == nil {
				return nil, errorf(CodeNotFound, "relationship names a missing verification method", nil)
			}
			break
		}
	}
	if vm == nil {
		if d.methodByID(base, id, true) != nil {
			return nil, errorf(CodeInvalidRelationshipForVerificationMethod,
				"verification method is not authorized for "+string(rel), nil)
		}
		return nil, errorf(CodeNotFound, "no verification method "+strconvQuote(kid), nil)
	}
	if _, revoked := vm.Extra["revoked"]; revoked {
		// CID §2.2: "revoked [...] a verifier MUST NOT" rely on the method
		// after that time; without a clock we refuse it outright.
		return nil, errorf(CodeInvalidVerificationMethod, "verification method is revoked", nil)
	}
	pub, err := PublicKey(vm)
	if err != nil {
		return nil, err
	}
	if _, isECDH := pub.(*ecdh.PublicKey); isECDH && rel != KeyAgreement {
		return nil, errorf(CodeInvalidVerificationMethod, "X25519 key cannot sign", nil)
	}
	return pub, nil
}

// PublicKey returns the public key of vm: an ed25519.PublicKey, a P-256
// *ecdsa.PublicKey, or an X25519 *ecdh.PublicKey. It accepts the types
// Multikey (publicKeyMultibase), JsonWebKey and JsonWebKey2020
// (publicKeyJwk, which must not hold private members), and the legacy
// Ed25519VerificationKey2020. Errors have CodeInvalidVerificationMethod and
// wrap [ErrUnsupportedKeyType], [ErrInvalidPublicKey] or [ErrPrivateKey].
func PublicKey(vm *VerificationMethod) (crypto.PublicKey, error) {
	bad := func(err error) error {
		return errorf(CodeInvalidVerificationMethod, "cannot use verification method key", err)
	}
	if vm == nil {
		return nil, bad(errors.New("nil verification method"))
	}
	if vm.PublicKeyMultibase != "" && len(vm.PublicKeyJwk) > 0 {
		return nil, bad(errors.New("both publicKeyMultibase and publicKeyJwk"))
	}
	switch vm.Type {
	case TypeMultikey, TypeEd25519VerificationKey2020:
		if vm.PublicKeyMultibase == "" {
			return nil, bad(errors.New("missing publicKeyMultibase"))
		}
		pub, err := DecodeMultikey(vm.PublicKeyMultibase)
		if err != nil {
			return nil, bad(err)
		}
		if vm.Type == TypeEd25519VerificationKey2020 {
			if _, ok := pub.(ed25519.PublicKey); !ok {
				return nil, bad(fmt.Errorf("%w: %s holds another key type", ErrUnsupportedKeyType, vm.Type))
			}
		}
		return pub, nil
	case TypeJSONWebKey, TypeJSONWebKey2020:
		if len(vm.PublicKeyJwk) == 0 {
			return nil, bad(errors.New("missing publicKeyJwk"))
		}
		pub, err := jwkPublicKey(vm.PublicKeyJwk)
		if err != nil {
			return nil, bad(err)
		}
		return pub, nil
	}
	return nil, bad(fmt.Errorf("%w: verification method type %s", ErrUnsupportedKeyType, strconvQuote(vm.Type)))
}
