package issuer

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// SetCertificate gives an agency its X.509 chain from the city CA (x5c
// values, leaf first, standard base64 DER, without the trust anchor), for
// its credential signing key. Its credentials then carry the chain in
// their x5c header beside kid, so that a HAIP verifier can take the key
// from the certificate and others from JWT VC Issuer Metadata.
//
// Spec: HAIP 1.0 #issuer-key-resolution: "The SD-JWT VC MUST contain the
// credential issuer's signing certificate along with a trust chain in the
// x5c JOSE header parameter".
func (s *Service) SetCertificate(ctx context.Context, slug string, x5c []string) error {
	a, err := s.Agency(ctx, slug)
	if err != nil {
		return err
	}
	if len(x5c) == 0 || len(x5c) > 5 {
		return errorf(CodeInvalidRequest, "x5c must hold 1 to 5 certificates")
	}
	der, err := base64.StdEncoding.DecodeString(x5c[0])
	if err != nil {
		return errorf(CodeInvalidRequest, "x5c[0] is not base64")
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return errorf(CodeInvalidRequest, "x5c[0] is not a certificate: %v", err)
	}
	if k, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(a.signer.Public()) {
		return errorf(CodeInvalidRequest, "the certificate is not for %s's signing key", slug)
	}
	b, _ := json.Marshal(x5c)
	if err := s.st.putX5C(ctx, slug, string(b)); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.agencies, slug)
	s.mu.Unlock()
	return s.audit(ctx, s.st, slug, "operator", "agency.certificate", slug, leaf.Subject.CommonName)
}

// agencyX5C reads an agency's certificate chain (nil without one).
func (s *Service) agencyX5C(ctx context.Context, slug string) ([]string, error) {
	raw, err := s.st.agencyX5C(ctx, slug)
	if err != nil || raw == "" {
		return nil, err
	}
	var x5c []string
	if err := json.Unmarshal([]byte(raw), &x5c); err != nil {
		return nil, fmt.Errorf("issuer: agency %s x5c: %w", slug, err)
	}
	return x5c, nil
}
