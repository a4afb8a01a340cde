package did

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ed25519"
	"errors"
	"mime"
	"strings"
)

// Method names.
const (
	MethodKey = "key"
	MethodJWK = "jwk"
	MethodWeb = "web"
)

// KeyResolver resolves did:key DIDs ([did:key] v0.9 §Read) by expanding the
// key in the DID, with no I/O. Only Ed25519 (multicodec ed25519-pub, "z6Mk…")
// and P-256 (p256-pub, compressed, "zDn…") keys are implemented; any other
// key type fails with CodeMethodNotSupported wrapping
// [ErrUnsupportedKeyType], and a malformed key with CodeInvalidDID wrapping
// [ErrInvalidPublicKey].
//
// The document follows §Document Creation Algorithm with publicKeyFormat
// Multikey: one verification method "<did>#<multibase>" referenced from
// authentication, assertionMethod, capabilityInvocation and
// capabilityDelegation, and the @context of the spec's printed example,
// ["https://www.w3.org/ns/did/v1.1"].
//
// The zero value is ready to use.
type KeyResolver struct {
	// EnableEncryptionKeyDerivation is the algorithm's
	// options.enableEncryptionKeyDerivation: for an Ed25519 key it adds the
	// derived X25519 key as a second Multikey, referenced from keyAgreement.
	EnableEncryptionKeyDerivation bool
}

var _ Resolver = KeyResolver{}

// NewKeyDID returns the did:key of pub, an ed25519.PublicKey or a P-256
// *ecdsa.PublicKey: "did:key:" + [EncodeMultikey](pub).
func NewKeyDID(pub crypto.PublicKey) (string, error) {
	if _, ok := pub.(*ecdh.PublicKey); ok {
		// X25519 cannot make signatures; did:key is for signature keys here.
		return "", ErrUnsupportedKeyType
	}
	mb, err := EncodeMultikey(pub)
	if err != nil {
		return "", err
	}
	return "did:key:" + mb, nil
}

// ParseKeyDID returns the public key in a did:key DID, with the checks and
// error codes of [KeyResolver].
func ParseKeyDID(did string) (crypto.PublicKey, error) {
	d, err := Parse(did)
	if err != nil {
		return nil, err
	}
	if d.Method != MethodKey {
		return nil, errorf(CodeInvalidDID, "not a did:key", nil)
	}
	return parseKeyID(d.ID)
}

func parseKeyID(id string) (crypto.PublicKey, error) {
	if strings.IndexByte(id, ':') >= 0 {
		// Spec: §Document Creation Algorithm allows "did:key:<version>:…";
		// only the default version 1, written without a version, is taken.
		return nil, errorf(CodeInvalidDID, "did:key with a version component is not supported", nil)
	}
	if !strings.HasPrefix(id, "z") {
		// Spec: "The multibaseValue MUST be a string and begin with the
		// letter z. If any of these requirements fail, an invalidDid error
		// MUST be raised."
		return nil, errorf(CodeInvalidDID, "did:key value must start with \"z\"", nil)
	}
	codec, raw, err := decodeMultikeyRaw(id)
	if err != nil {
		return nil, errorf(CodeInvalidDID, "malformed did:key", err)
	}
	if codec == codecX25519Pub {
		return nil, errorf(CodeMethodNotSupported, "x25519-pub did:key cannot sign", ErrUnsupportedKeyType)
	}
	pub, err := publicKeyFromCodec(codec, raw)
	switch {
	case errors.Is(err, ErrUnsupportedKeyType):
		return nil, errorf(CodeMethodNotSupported, "did:key key type not supported", err)
	case err != nil:
		return nil, errorf(CodeInvalidDID, "invalid did:key public key", err)
	}
	// The encoding is canonical, so the DID must re-encode to itself.
	if mb, err := EncodeMultikey(pub); err != nil || mb != id {
		return nil, errorf(CodeInvalidDID, "non-canonical did:key", err)
	}
	return pub, nil
}

// Resolve implements [Resolver].
func (r KeyResolver) Resolve(ctx context.Context, did string, opts ResolveOptions) (*Result, error) {
	ct, err := checkStaticOptions(opts)
	if err != nil {
		return nil, err
	}
	pub, err := ParseKeyDID(did)
	if err != nil {
		return nil, err
	}
	mb := did[len("did:key:"):]
	vmID := did + "#" + mb
	doc := &Document{
		Context: []any{ContextV1_1},
		ID:      did,
		VerificationMethods: []VerificationMethod{{
			ID: vmID, Type: TypeMultikey, Controller: did, PublicKeyMultibase: mb,
		}},
	}
	ref := []VerificationRef{{Ref: vmID}}
	doc.Authentication = ref
	doc.AssertionMethod = []VerificationRef{{Ref: vmID}}
	doc.CapabilityInvocation = []VerificationRef{{Ref: vmID}}
	doc.CapabilityDelegation = []VerificationRef{{Ref: vmID}}
	if ed, ok := pub.(ed25519.PublicKey); ok && r.EnableEncryptionKeyDerivation {
		x, err := ed25519ToX25519(ed)
		if err != nil {
			return nil, errorf(CodeInvalidDID, "cannot derive X25519 key", err)
		}
		xmb, err := EncodeMultikey(x)
		if err != nil {
			return nil, errorf(CodeInternalError, "cannot encode X25519 key", err)
		}
		doc.VerificationMethods = append(doc.VerificationMethods, VerificationMethod{
			ID: did + "#" + xmb, Type: TypeMultikey, Controller: did, PublicKeyMultibase: xmb,
		})
		doc.KeyAgreement = []VerificationRef{{Ref: did + "#" + xmb}}
	}
	return &Result{Document: doc, ResolutionMetadata: ResolutionMetadata{ContentType: ct}}, nil
}

// checkStaticOptions checks options for a method with no versions (did:key,
// did:jwk) and returns the content type to report.
func checkStaticOptions(opts ResolveOptions) (string, error) {
	if err := opts.Validate(); err != nil {
		return "", err
	}
	if opts.VersionID != "" || !opts.VersionTime.IsZero() {
		return "", errorf(CodeFeatureNotSupported, "this DID method has no versions", nil)
	}
	return negotiate(opts.Accept)
}

// negotiate picks the document media type for an accept option: the first
// JSON DID type it lists, application/did for none or a wildcard.
func negotiate(accept string) (string, error) {
	if accept == "" {
		return MediaTypeDID, nil
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case MediaTypeDID, MediaTypeDIDJSON, MediaTypeDIDLDJSON:
			return mt, nil
		case "*/*", "application/*", "application/json", "application/ld+json":
			return MediaTypeDID, nil
		}
	}
	return "", errorf(CodeRepresentationNotSupported, "only JSON representations are supported", nil)
}
