package verifier

import (
	"crypto/x509"
	"encoding/base64"
	"slices"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/credential/dcql"
)

// checkPurposeAuthorities refuses a purpose whose trusted_authorities the
// verifier could not check on a presentation: only type aki is checked
// (HAIP 1.0 makes it the one to support), and each value must be
// base64url. A type the verifier cannot check would let it accept a
// credential on the wallet's word alone.
func checkPurposeAuthorities(id string, cq *dcql.CredentialQuery) error {
	for _, ta := range cq.TrustedAuthorities {
		if ta.Type != dcql.TrustedAuthorityAKI {
			return errorf(CodeInvalidPurpose, "purpose %s: trusted_authorities of type %q cannot be checked; only %q is supported", id, ta.Type, dcql.TrustedAuthorityAKI)
		}
		for _, v := range ta.Values {
			if b, err := base64.RawURLEncoding.DecodeString(v); err != nil || len(b) == 0 {
				return errorf(CodeInvalidPurpose, "purpose %s: aki value %q is not a base64url key identifier", id, v)
			}
		}
	}
	return nil
}

// checkAuthorities is the verifier's own trusted_authorities check of a
// presentation that passed credential.Verify: when the Credential Query
// has trusted_authorities, the credential's x5c chain must reach the
// verifier's trust list, its leaf must hold the key the credential's
// signature verified with, each certificate must be signed by the next
// (so every certificate is on the path to the trust list), and one of
// the chain's AuthorityKeyIdentifiers must be one of the query's aki
// values (OpenID4VP 1.0 §6.1.1.1; values as [credential.AuthorityKeyIDs]
// reads them). The x5c header is covered by the issuer's signature, so a
// wallet cannot change it; but the issuer key may have been resolved by
// kid, leaving the chain unchecked until here.
//
// Spec: OpenID4VP 1.0 §6.1: "Note that Verifiers must verify that the
// issuer of a received presentation is trusted on their own and this
// feature mainly aims to help data minimization by not revealing
// information that would likely be rejected."
func (s *Service) checkAuthorities(cq *dcql.CredentialQuery, r *credential.Result) error {
	if cq.TrustedAuthorities == nil {
		return nil
	}
	x5c := r.Header.X5C
	if len(x5c) == 0 {
		return errorf(CodeUntrustedAuthority, "the query accepts only issuers certified by given authorities, and the credential carries no certificate chain (x5c)")
	}
	if s.cfg.TrustList == nil {
		return errorf(CodeUntrustedAuthority, "the query accepts only issuers certified by given authorities, and this verifier has no trust list to check the credential's certificate chain against")
	}
	leaf, _, err := s.cfg.TrustList.Verify(x5c, s.cfg.Now())
	if err != nil {
		return &Error{Code: CodeUntrustedAuthority, Description: "the credential's certificate chain does not reach the trust list", Err: err}
	}
	if !sameKey(leaf.PublicKey, r.IssuerKey) {
		return errorf(CodeUntrustedAuthority, "the credential's certificate is not for the key that signed it")
	}
	certs := make([]*x509.Certificate, len(x5c))
	for i, v := range x5c {
		der, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return errorf(CodeUntrustedAuthority, "x5c[%d] is not base64", i)
		}
		if certs[i], err = x509.ParseCertificate(der); err != nil {
			return errorf(CodeUntrustedAuthority, "x5c[%d] is not a certificate", i)
		}
	}
	for i := 0; i+1 < len(certs); i++ {
		// Spec: RFC 7515 §4.1.6: "Each subsequent certificate MUST be the
		// one used to certify the previous one."
		if certs[i].CheckSignatureFrom(certs[i+1]) != nil {
			return errorf(CodeUntrustedAuthority, "x5c[%d] is not certified by x5c[%d]", i, i+1)
		}
	}
	have, err := credential.AuthorityKeyIDs(x5c)
	if err != nil {
		return &Error{Code: CodeUntrustedAuthority, Description: "the credential's certificate chain", Err: err}
	}
	for _, ta := range cq.TrustedAuthorities {
		if ta.Type != dcql.TrustedAuthorityAKI {
			continue // refused in purposes (checkPurposeAuthorities)
		}
		for _, v := range ta.Values {
			if slices.Contains(have, v) {
				return nil
			}
		}
	}
	return errorf(CodeUntrustedAuthority, "the credential's issuer is not certified by an authority this purpose accepts")
}
