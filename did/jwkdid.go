package did

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
)

// JWKResolver resolves did:jwk DIDs ([did:jwk] §Read): the method-specific
// id is the base64url (no padding) of a public JWK, and the document has
// one verification method "<did>#0" of type JsonWebKey2020 holding that JWK,
// exactly as the spec's template prints it. A JWK with private members fails
// with CodeInvalidDID wrapping [ErrPrivateKey]; a key type other than EC
// P-256, OKP Ed25519 or OKP X25519 fails with CodeMethodNotSupported wrapping
// [ErrUnsupportedKeyType].
//
// The zero value is ready to use.
type JWKResolver struct{}

var _ Resolver = JWKResolver{}

// NewJWKDID returns the did:jwk of pub (ed25519.PublicKey, P-256
// *ecdsa.PublicKey or X25519 *ecdh.PublicKey). The JWK holds only the
// required members in lexicographic order (the RFC 7638 form, as in the
// spec's P-256 example), so a key always gives the same DID.
func NewJWKDID(pub crypto.PublicKey) (string, error) {
	jwk, err := publicJWK(pub)
	if err != nil {
		return "", err
	}
	return "did:jwk:" + base64.RawURLEncoding.EncodeToString(jwk), nil
}

// parseJWKDID returns the decoded JWK JSON and its key.
func parseJWKDID(did string) ([]byte, crypto.PublicKey, error) {
	d, err := Parse(did)
	if err != nil {
		return nil, nil, err
	}
	if d.Method != MethodJWK {
		return nil, nil, errorf(CodeInvalidDID, "not a did:jwk", nil)
	}
	// base64url-value := [A-Za-z0-9_-]+
	for i := 0; i < len(d.ID); i++ {
		if c := d.ID[i]; !(isIDChar(c) && c != '.') {
			return nil, nil, errorf(CodeInvalidDID, "did:jwk value is not base64url", nil)
		}
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(d.ID)
	if err != nil {
		return nil, nil, errorf(CodeInvalidDID, "did:jwk value is not base64url", err)
	}
	if err := checkJSON(raw); err != nil || !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return nil, nil, errorf(CodeInvalidDID, "did:jwk value is not a JSON object", err)
	}
	pub, err := jwkPublicKey(raw)
	switch {
	case errors.Is(err, ErrUnsupportedKeyType):
		return nil, nil, errorf(CodeMethodNotSupported, "did:jwk key type not supported", err)
	case err != nil:
		return nil, nil, errorf(CodeInvalidDID, "invalid did:jwk key", err)
	}
	return raw, pub, nil
}

// Resolve implements [Resolver].
func (JWKResolver) Resolve(ctx context.Context, did string, opts ResolveOptions) (*Result, error) {
	ct, err := checkStaticOptions(opts)
	if err != nil {
		return nil, err
	}
	raw, _, err := parseJWKDID(did)
	if err != nil {
		return nil, err
	}
	var jwk struct {
		Use *string `json:"use"`
	}
	if err := json.Unmarshal(raw, &jwk); err != nil {
		return nil, errorf(CodeInvalidDID, "JWK use must be a string", err)
	}
	vmID := did + "#0"
	doc := &Document{
		Context: []any{ContextV1, ContextJWS2020},
		ID:      did,
		VerificationMethods: []VerificationMethod{{
			ID: vmID, Type: TypeJSONWebKey2020, Controller: did, PublicKeyJwk: compactRaw(raw),
		}},
	}
	ref := func() []VerificationRef { return []VerificationRef{{Ref: vmID}} }
	// Spec: "If the JWK contains a use property with the value "sig" then the
	// keyAgreement property is not included in the DID Document. If the use
	// value is "enc" then only the keyAgreement property is included."
	use := ""
	if jwk.Use != nil {
		use = *jwk.Use
	}
	if use != "enc" {
		doc.AssertionMethod = ref()
		doc.Authentication = ref()
		doc.CapabilityInvocation = ref()
		doc.CapabilityDelegation = ref()
	}
	if use != "sig" {
		doc.KeyAgreement = ref()
	}
	return &Result{Document: doc, ResolutionMetadata: ResolutionMetadata{ContentType: ct}}, nil
}
