package credential

import (
	"context"
	"crypto"
	"net/url"
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
