package wallet

// The High Assurance Interoperability Profile (HAIP 1.0) in the wallet:
// requests from verifiers that authenticate with the x509_hash client
// identifier prefix (their certificate chain in the request object's x5c
// header, checked against the certificates the wallet trusts), and the
// direct_post.jwt response mode (the response encrypted to the verifier's
// ephemeral key from client_metadata.jwks, ECDH-ES on P-256). JWE comes
// from jwx (lestrrat-go/jwx/v3), X.509 from internal/x509ca.

import (
	"crypto/x509"
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwe"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/tongid/tong/credential/vpwire"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/x509ca"
)

// HAIP constants.
const (
	// PrefixX509Hash is the client identifier prefix of HAIP verifiers
	// (OpenID4VP 1.0 §5.9.3).
	PrefixX509Hash = vpwire.PrefixX509Hash
	// ResponseModeDirectPostJWT asks for an encrypted response.
	ResponseModeDirectPostJWT = vpwire.ResponseModeDirectPostJWT
)

// Codes of HAIP requests.
const (
	// CodeCertificateUntrusted: the request's x5c chain is malformed or
	// does not reach a certificate the wallet trusts (Options.TrustedCAs).
	CodeCertificateUntrusted = "certificate_untrusted"
	// CodeClientIDMismatch: the x509_hash client_id is not the hash of
	// the x5c leaf certificate.
	CodeClientIDMismatch = "client_id_mismatch"
	// CodeRequestSignature: the request object's signature does not
	// verify with the x5c leaf certificate's key.
	CodeRequestSignature = "request_signature_invalid"
	// CodeEncryptionUnsupported: a direct_post.jwt request offers no
	// ECDH-ES P-256 key or no content encryption this wallet supports.
	CodeEncryptionUnsupported = "response_encryption_unsupported"
)

// responseEncryption is how to encrypt the response of a direct_post.jwt
// request: to this key, with this enc.
type responseEncryption struct {
	key jwk.Key
	kid string
	enc jwa.ContentEncryptionAlgorithm
}

// trustList builds the wallet's trust list from Options.TrustedCAs (a
// few certificates, parsed per request).
func (w *Wallet) trustList() (*x509ca.TrustList, error) {
	return x509ca.NewTrustList(w.opts.TrustedCAs...)
}

// checkX509Hash verifies an x509_hash: request: the x5c chain reaches the
// trust list, the client_id is the leaf's hash, and the leaf's key signed
// the request object.
//
// Spec: OpenID4VP 1.0 #client_identifier_prefix: "The Wallet MUST validate
// the signature and the trust chain of the X.509 leaf certificate."
func (w *Wallet) checkX509Hash(req *Request, jws *jose.JWS) error {
	tl, err := w.trustList()
	if err != nil || len(w.opts.TrustedCAs) == 0 {
		return &Error{Code: CodeCertificateUntrusted, Description: "this wallet trusts no certificate authority for x509_hash verifiers", Err: err}
	}
	leaf, der, err := tl.Verify(jws.Header.X5C, w.opts.Now())
	if err != nil {
		return &Error{Code: CodeCertificateUntrusted, Description: "the verifier's certificate chain does not reach a trusted authority", Err: err}
	}
	if x509ca.Hash(der) != strings.TrimPrefix(req.ClientID, PrefixX509Hash) {
		return werr(CodeClientIDMismatch, "the client_id is not the hash of the verifier's certificate")
	}
	if err := jws.Verify(leaf.PublicKey); err != nil {
		return &Error{Code: CodeRequestSignature, Description: "the request object is not signed by the verifier's certificate key", Err: err}
	}
	req.Verified = true
	if req.Name == "" {
		req.Name = leaf.Subject.CommonName
	}
	req.haip.certificate = leaf
	return nil
}

// parseEncryption picks the key and enc for a direct_post.jwt request
// from its client_metadata.
//
// Spec: OpenID4VP 1.0 #response_encryption: "JWKs whose use parameter is
// absent or has the value enc are for encryption of the Authorization
// Response." "The JWE alg algorithm used MUST be equal to the alg value of
// the chosen jwk." "The JWE enc content encryption algorithm used is
// obtained from the encrypted_response_enc_values_supported parameter ...
// allowing for the default value of A128GCM when not explicitly set."
// Spec: HAIP 1.0: "If both are supported, the Wallet SHOULD use A256GCM".
func parseEncryption(cm *vpwire.ClientMetadata) (*responseEncryption, error) {
	var keys []json.RawMessage
	if cm != nil && cm.JWKS != nil {
		keys = cm.JWKS.Keys
	}
	re := &responseEncryption{}
	for _, raw := range keys {
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil || m == nil || (m["use"] != nil && m["use"] != "enc") || m["alg"] != "ECDH-ES" || m["kty"] != "EC" || m["crv"] != "P-256" || m["d"] != nil {
			continue
		}
		key, err := jwk.ParseKey(raw)
		if err != nil {
			continue
		}
		re.key, re.kid = key, stringOf(m["kid"])
		break
	}
	if re.key == nil {
		return nil, werr(CodeEncryptionUnsupported, "direct_post.jwt: client_metadata.jwks has no ECDH-ES P-256 encryption key")
	}
	encs := []string{vpwire.DefaultResponseEnc}
	if cm.EncryptedResponseEncValuesSupported != nil {
		encs = cm.EncryptedResponseEncValuesSupported
	}
	switch {
	case slices.Contains(encs, "A256GCM"):
		re.enc = jwa.A256GCM()
	case slices.Contains(encs, "A128GCM"):
		re.enc = jwa.A128GCM()
	default:
		return nil, werr(CodeEncryptionUnsupported, "direct_post.jwt: the verifier offers no A128GCM or A256GCM")
	}
	return re, nil
}

// seal encrypts a response to the verifier and returns the
// direct_post.jwt form.
//
// Spec: OpenID4VP 1.0 #response_encryption: "If the selected public key
// contains a kid parameter, the JWE MUST include the same value in the kid
// JWE Header Parameter".
func (re *responseEncryption) seal(resp vpwire.Response) (url.Values, error) {
	b, err := json.Marshal(resp)
	if err != nil {
		return nil, err
	}
	hdr := jwe.NewHeaders()
	if re.kid != "" {
		_ = hdr.Set(jwe.KeyIDKey, re.kid)
	}
	out, err := jwe.Encrypt(b, jwe.WithKey(jwa.ECDH_ES(), re.key), jwe.WithContentEncryption(re.enc), jwe.WithProtectedHeaders(hdr))
	if err != nil {
		return nil, &Error{Code: CodeEncryptionUnsupported, Description: "encrypting the response", Err: err}
	}
	return url.Values{vpwire.ParamResponse: {string(out)}}, nil
}

func stringOf(v any) string { s, _ := v.(string); return s }

// haipRequest is what a Request holds for HAIP: the verifier's verified
// certificate (x509_hash) and how to encrypt the response
// (direct_post.jwt).
type haipRequest struct {
	certificate *x509.Certificate
	enc         *responseEncryption
}

// Certificate is the x509_hash verifier's leaf certificate, verified
// against the wallet's trusted CAs; nil for other client identifiers.
func (r *Request) Certificate() *x509.Certificate { return r.haip.certificate }

// Encrypted tells whether the response will be encrypted to the verifier
// (direct_post.jwt).
func (r *Request) Encrypted() bool { return r.haip.enc != nil }

// checkResponseMode accepts direct_post and, with a usable encryption
// key, direct_post.jwt.
func checkResponseMode(req *Request, ro *vpwire.RequestObject) error {
	switch ro.ResponseMode {
	case vpwire.ResponseModeDirectPost:
		return nil
	case ResponseModeDirectPostJWT:
		enc, err := parseEncryption(ro.ClientMetadata)
		if err != nil {
			return err
		}
		req.haip.enc = enc
		return nil
	}
	return werr(CodeBadRequest, "only response_mode direct_post or direct_post.jwt is supported")
}
