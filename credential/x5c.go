package credential

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"net/url"
	"slices"
	"time"

	"github.com/tongid/tong/internal/x509ca"
)

// X509IssuerKeys resolves an issuer's key from the x5c header of its
// credential (HAIP 1.0 #issuer-key-resolution): the chain must reach the
// trust list, and the leaf certificate must name the issuer: iss is one
// of its URI subject alternative names, or, for an https iss, its host is
// one of its DNS names.
//
// Spec: draft-ietf-oauth-sd-jwt-vc-18 (Issuer Signature Mechanisms): "the
// recipient uses the public key from the end-entity certificate of the
// certificates from the x5c header parameter and validates the X.509
// certificate chain accordingly. In this case, the Issuer of the
// Verifiable Credential is the subject of the end-entity certificate."
type X509IssuerKeys struct {
	TrustList *x509ca.TrustList
	// Now is the time the chain is checked at; nil means time.Now.
	Now func() time.Time
}

// ResolveIssuerKey checks h.X5C and returns the leaf's public key.
func (x X509IssuerKeys) ResolveIssuerKey(_ context.Context, iss string, h Header) (crypto.PublicKey, error) {
	now := time.Now
	if x.Now != nil {
		now = x.Now
	}
	leaf, _, err := x.TrustList.Verify(h.X5C, now())
	if err != nil {
		return nil, &Error{Code: CodeIssuerUnknown, Description: "the x5c chain does not reach the trust list", Err: err}
	}
	named := false
	for _, u := range leaf.URIs {
		named = named || u.String() == iss
	}
	if u, err := url.Parse(iss); err == nil && u.Scheme == "https" {
		for _, d := range leaf.DNSNames {
			named = named || d == u.Hostname()
		}
	}
	if !named {
		return nil, errf(CodeIssuerRefused, "the x5c certificate does not name issuer %q", iss)
	}
	return leaf.PublicKey, nil
}

// AuthorityKeyIDs returns the values of the "aki" Trusted Authorities
// Query that the certificate chain x5c (leaf first, standard base64 DER,
// as in an x5c header) answers: the KeyIdentifier of each certificate's
// AuthorityKeyIdentifier extension, base64url-encoded, in chain order,
// without duplicates. A certificate without that extension (a self-signed
// root, usually) adds none. Subject key identifiers are not values: an
// aki names the authority that certified a certificate of the chain, not
// the certificate's own key.
//
// It only reads the chain; it verifies nothing. A wallet matches with it;
// a verifier must also check the chain (see [X509IssuerKeys]).
//
// Spec: OpenID4VP 1.0 §6.1.1.1 (Authority Key Identifier): "Contains the
// KeyIdentifier of the AuthorityKeyIdentifier as defined in Section
// 4.2.1.1 of [RFC5280], encoded as base64url. The raw byte representation
// of this element MUST match with the AuthorityKeyIdentifier element of an
// X.509 certificate in the certificate chain present in the Credential".
func AuthorityKeyIDs(x5c []string) ([]string, error) {
	if len(x5c) > x509ca.MaxChain {
		return nil, errf(CodeMalformed, "x5c holds %d certificates, limit %d", len(x5c), x509ca.MaxChain)
	}
	var out []string
	for i, s := range x5c {
		der, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, errf(CodeMalformed, "x5c[%d] is not base64", i)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, errf(CodeMalformed, "x5c[%d] is not a certificate", i)
		}
		if len(c.AuthorityKeyId) == 0 {
			continue
		}
		v := base64.RawURLEncoding.EncodeToString(c.AuthorityKeyId)
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}
