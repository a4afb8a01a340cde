package verifier

// The High Assurance Interoperability Profile (HAIP 1.0) on the verifier:
// the x509_hash client identifier prefix, with the organisation's
// certificate chain (issued by the city CA) in the request object's x5c
// header, and the direct_post.jwt response mode, with the response
// encrypted to an ephemeral key of the session (JWE, ECDH-ES on P-256,
// A128GCM or A256GCM). JWE comes from jwx (lestrrat-go/jwx/v3), X.509
// from internal/x509ca (crypto/x509 underneath).

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwe"

	"github.com/tongid/tong/credential/vpwire"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/x509ca"
)

// Client identifier prefixes and response modes a counter can ask for.
const (
	// PrefixX509Hash is HAIP's client identifier prefix.
	// Spec: OpenID4VP 1.0 #client_identifier_prefix: "the original Client
	// Identifier (the part without the x509_hash: prefix) MUST be a hash
	// and match the hash of the leaf certificate passed with the request."
	PrefixX509Hash = vpwire.PrefixX509Hash

	ResponseModeDirectPost    = vpwire.ResponseModeDirectPost
	ResponseModeDirectPostJWT = vpwire.ResponseModeDirectPostJWT

	// ResponseEncAlg is the only JWE key management algorithm accepted
	// for encrypted responses (HAIP 1.0: "ECDH-ES ... with key agreement
	// utilizing keys on the P-256 curve MUST be supported").
	ResponseEncAlg = "ECDH-ES"
)

// TrustList is a set of trusted root certificates (the city CA's).
type TrustList = x509ca.TrustList

// ResponseEncValues are the content encryption algorithms the verifier
// offers in client_metadata.encrypted_response_enc_values_supported.
// Spec: HAIP 1.0 #openid-for-verifiable-presentations: "Verifiers MUST
// list both A128GCM and A256GCM in encrypted_response_enc_values_supported
// in their client metadata."
var ResponseEncValues = []string{"A128GCM", "A256GCM"}

// Codes of encrypted responses (direct_post.jwt).
const (
	// CodeEncryptionRequired: the session asked for direct_post.jwt and
	// the wallet sent a plain vp_token (a downgrade).
	CodeEncryptionRequired Code = "response_encryption_required"
	// CodeEncryptionUnsupported: the JWE uses an alg other than ECDH-ES
	// (dir, key wrapping, RSA), an enc the session did not offer, or
	// compression.
	CodeEncryptionUnsupported Code = "response_encryption_unsupported"
	// CodeDecryptionFailed: the JWE does not decrypt under the session's
	// key (wrong key, tampered ciphertext or tag); one code for all, so
	// there is no oracle.
	CodeDecryptionFailed Code = "response_decryption_failed"
	// CodeNoCertificate: a counter asked for x509_hash but its
	// organisation has no certificate.
	CodeNoCertificate Code = "no_certificate"
)

// SetCertificate gives an organisation its X.509 chain (x5c values, leaf
// first, standard base64 DER, without the trust anchor), issued by the
// city CA for its request-signing key. With Config.TrustList set, the
// chain must reach it.
func (s *Service) SetCertificate(ctx context.Context, slug string, x5c []string) error {
	o, err := s.Org(ctx, slug)
	if err != nil {
		return err
	}
	if len(x5c) == 0 || len(x5c) > x509ca.MaxChain {
		return errorf(CodeInvalidRequest, "x5c must hold 1 to %d certificates", x509ca.MaxChain)
	}
	leaf, err := parseLeaf(x5c[0])
	if err != nil {
		return &Error{Code: CodeInvalidRequest, Description: "x5c[0] is not a certificate", Err: err}
	}
	if !publicKeyEqual(leaf, o.signer.Public()) {
		return errorf(CodeInvalidRequest, "the certificate is not for %s's request-signing key %s", slug, o.KeyName)
	}
	if s.cfg.TrustList != nil {
		if _, _, err := s.cfg.TrustList.Verify(x5c, s.cfg.Now()); err != nil {
			return &Error{Code: CodeInvalidRequest, Description: "the certificate chain does not reach the trust list", Err: err}
		}
	}
	if err := s.orgDB.setCertificate(ctx, slug, x5c); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.orgs, slug)
	s.mu.Unlock()
	return nil
}

// requestParams are the parts of a request that depend on the client
// identifier prefix and the response mode.
type requestParams struct {
	clientID     string
	header       map[string]any
	responseMode string
	// responseKey is the ephemeral P-256 private scalar (base64url) for
	// direct_post.jwt, "" otherwise.
	responseKey string
	kid         string
}

func (s *Service) requestParams(org *Org, nr NewRequest, sessionID string) (*requestParams, error) {
	rp := &requestParams{responseMode: ResponseModeDirectPost}
	switch strings.TrimSuffix(nr.ClientIDPrefix, ":") {
	case "", strings.TrimSuffix(PrefixDID, ":"):
		rp.clientID = PrefixDID + org.DID
		rp.header = map[string]any{"alg": org.signer.Alg(), "typ": TypRequestObject, "kid": org.KeyID}
	case strings.TrimSuffix(PrefixX509Hash, ":"):
		if len(org.X5C) == 0 {
			return nil, errorf(CodeNoCertificate, "%s has no X.509 certificate; the trust authority issues one (tong ca issue) and the operator installs it (tong verifier certificate)", org.Slug)
		}
		der, err := base64.StdEncoding.DecodeString(org.X5C[0])
		if err != nil {
			return nil, err
		}
		rp.clientID = PrefixX509Hash + x509ca.Hash(der)
		// Spec: OpenID4VP 1.0 #client_identifier_prefix: "The request MUST
		// be signed with the private key corresponding to the public key
		// in the leaf X.509 certificate of the certificate chain added to
		// the request in the x5c JOSE header parameter".
		rp.header = map[string]any{"alg": org.signer.Alg(), "typ": TypRequestObject, "x5c": org.X5C}
	default:
		return nil, errorf(CodeInvalidRequest, "client_id_prefix must be decentralized_identifier or x509_hash, not %q", nr.ClientIDPrefix)
	}
	switch nr.ResponseMode {
	case "", ResponseModeDirectPost:
	case ResponseModeDirectPostJWT:
		rp.responseMode = ResponseModeDirectPostJWT
		rp.kid = "resp-" + sessionID
	default:
		return nil, errorf(CodeInvalidRequest, "response_mode must be direct_post or direct_post.jwt, not %q", nr.ResponseMode)
	}
	return rp, nil
}

// encryptionMetadata makes the session's ephemeral key and the
// client_metadata members that announce it.
//
// Spec: HAIP 1.0: "Verifiers MUST supply ephemeral encryption public keys
// specific to each Authorization Request passed via client metadata".
// Spec: OpenID4VP 1.0 #response_encryption: "The alg parameter MUST be
// present in the JWKs." and (client_metadata.jwks) "Each JWK in the set
// MUST have a kid".
func (rp *requestParams) encryptionMetadata(cm *vpwire.ClientMetadata) error {
	if rp.responseMode != ResponseModeDirectPostJWT {
		return nil
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	jwk, err := jose.PublicJWK(&k.PublicKey)
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(jwk)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	m["kid"], m["use"], m["alg"] = rp.kid, "enc", ResponseEncAlg
	key, err := json.Marshal(m)
	if err != nil {
		return err
	}
	cm.JWKS = &vpwire.JWKS{Keys: []json.RawMessage{key}}
	cm.EncryptedResponseEncValuesSupported = ResponseEncValues
	d, err := k.Bytes() // the scalar, fixed length (32 bytes for P-256)
	if err != nil {
		return err
	}
	rp.responseKey = base64.RawURLEncoding.EncodeToString(d)
	return nil
}

// decryptResponse opens a direct_post.jwt `response` with the session's
// key and returns its members as form values (vp_token as its JSON text).
//
// Spec: OpenID4VP 1.0 #response_encryption: "The payload of the encrypted
// JWT response MUST include the contents of the response as defined in
// (#response-parameters) as top-level JSON members."
func decryptResponse(compact, scalar, kid string) (url.Values, error) {
	if strings.Count(compact, ".") != 4 {
		return nil, errorf(CodeMalformedResponse, "response is not a compact JWE")
	}
	msg, err := jwe.Parse([]byte(compact))
	if err != nil {
		return nil, &Error{Code: CodeMalformedResponse, Description: "response is not a JWE", Err: err}
	}
	h := msg.ProtectedHeaders()
	alg, _ := h.Algorithm()
	if alg.String() != ResponseEncAlg {
		return nil, errorf(CodeEncryptionUnsupported, "the response is encrypted with alg %q; only %s is accepted", alg.String(), ResponseEncAlg)
	}
	enc, _ := h.ContentEncryption()
	if !slices.Contains(ResponseEncValues, enc.String()) {
		return nil, errorf(CodeEncryptionUnsupported, "the response is encrypted with enc %q; offered %s", enc.String(), strings.Join(ResponseEncValues, ", "))
	}
	if zip, ok := h.Compression(); ok && zip.String() != "" {
		return nil, errorf(CodeEncryptionUnsupported, "compressed responses are not accepted")
	}
	// Spec: OpenID4VP 1.0 #response_encryption: "If the selected public
	// key contains a kid parameter, the JWE MUST include the same value in
	// the kid JWE Header Parameter".
	if k, _ := h.KeyID(); k != kid {
		return nil, errorf(CodeDecryptionFailed, "the response is not encrypted to this session's key")
	}
	d, err := base64.RawURLEncoding.DecodeString(scalar)
	if err != nil || len(d) != 32 {
		return nil, errorf(CodeDecryptionFailed, "the session has no response key")
	}
	priv, err := ecdh.P256().NewPrivateKey(d)
	if err != nil {
		return nil, errorf(CodeDecryptionFailed, "the session has no response key")
	}
	plain, err := jwe.Decrypt([]byte(compact), jwe.WithKey(jwa.ECDH_ES(), priv))
	if err != nil {
		return nil, &Error{Code: CodeDecryptionFailed, Description: "the response does not decrypt under this session's key", Err: err}
	}
	if err := jose.CheckJSON(plain, 16); err != nil {
		return nil, &Error{Code: CodeMalformedResponse, Description: "the decrypted response is not JSON", Err: err}
	}
	var members map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(plain))
	if err := dec.Decode(&members); err != nil {
		return nil, &Error{Code: CodeMalformedResponse, Description: "the decrypted response is not a JSON object", Err: err}
	}
	form := url.Values{}
	for k, v := range members {
		var s string
		if json.Unmarshal(v, &s) == nil {
			form.Set(k, s)
		} else {
			form.Set(k, string(v)) // vp_token is an object
		}
	}
	return form, nil
}

// openResponse turns a direct_post or direct_post.jwt body into the
// response parameters, refusing a response in the wrong mode.
func openResponse(row *sessionRow, form url.Values) (url.Values, error) {
	if row.responseMode != ResponseModeDirectPostJWT {
		if form.Get(vpwire.ParamResponse) != "" {
			return nil, errorf(CodeMalformedResponse, "this session asked for direct_post, not an encrypted response")
		}
		return form, nil
	}
	if r := form.Get(vpwire.ParamResponse); r != "" {
		if len(form) != 1 {
			return nil, errorf(CodeMalformedResponse, "direct_post.jwt carries only the response parameter")
		}
		return decryptResponse(r, row.responseKey, row.kid())
	}
	// Spec: OpenID4VP 1.0 #direct_post_jwt: "If a Wallet is unable to
	// generate an encrypted response, it MAY send an error response
	// without encryption".
	if form.Get(vpwire.ParamError) != "" && form.Get(vpwire.ParamVPToken) == "" {
		return form, nil
	}
	return nil, errorf(CodeEncryptionRequired, "this session asked for an encrypted response (direct_post.jwt)")
}

func (r *sessionRow) kid() string { return "resp-" + r.id }

// requestURIFor is the openid4vp:// URI of a session asked with clientID.
func requestURIFor(clientID, publicURL, id string) string {
	ar := vpwire.AuthorizationRequest{ClientID: clientID, RequestURI: publicURL + "/verifier/requests/" + id}
	return ar.URI(vpwire.SchemeOpenID4VP)
}

// haipSession finishes a new session made with a HAIP prefix or mode: its
// request URI names its client_id.
func (s *Service) haipSession(sess *Session, rp *requestParams) {
	sess.RequestURI = requestURIFor(rp.clientID, s.cfg.PublicURL, sess.ID)
}

func parseLeaf(b64 string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	return x509.ParseCertificate(der)
}

func publicKeyEqual(c *x509.Certificate, pub crypto.PublicKey) bool {
	k, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(pub)
}
