package issuer

import (
	"context"
	"crypto"
	"encoding/json"
	"time"

	"github.com/tongid/tong/internal/jose"
)

// OAuth 2.0 Attestation-Based Client Authentication
// (draft-ietf-oauth-attestation-based-client-auth): a wallet instance
// sends a Client Attestation JWT, signed by its attester (the wallet's
// provider) and binding a key in cnf, and a Client Attestation PoP JWT
// signed by that key for this authorization server. Tong accepts them
// when sent, at the PAR and token endpoints, and checks them; a public
// client without them is still served.
const (
	HeaderClientAttestation    = "OAuth-Client-Attestation"
	HeaderClientAttestationPoP = "OAuth-Client-Attestation-PoP"
	TypClientAttestation       = "oauth-client-attestation+jwt"
	TypClientAttestationPoP    = "oauth-client-attestation-pop+jwt"
	// AuthMethodAttestJWT is the token_endpoint_auth_methods_supported
	// value of the method.
	AuthMethodAttestJWT = "attest_jwt_client_auth"
)

// ClientAttester is an attester whose Client Attestations the issuer
// trusts: its iss and its public key.
type ClientAttester struct {
	Issuer string
	Key    crypto.PublicKey
}

// ClientAttestation is a verified client attestation.
type ClientAttestation struct {
	Attester string
	ClientID string
}

// VerifyClientAttestation checks a Client Attestation JWT and its PoP for
// a request by clientID to the authorization server asIssuer. Every
// failure is invalid_client.
func (s *Service) VerifyClientAttestation(ctx context.Context, attestation, pop, clientID, asIssuer string) (*ClientAttestation, error) {
	bad := func(format string, args ...any) error { return errorf(CodeInvalidClient, format, args...) }
	if attestation == "" || pop == "" {
		return nil, bad("%s and %s go together", HeaderClientAttestation, HeaderClientAttestationPoP)
	}
	now := s.cfg.Now()
	jws, err := jose.Parse(attestation, MaxProofSize)
	if err != nil {
		return nil, bad("client attestation: %s", describeJOSE(err))
	}
	// Spec: draft-ietf-oauth-attestation-based-client-auth §5.1: typ
	// "oauth-client-attestation+jwt"; iss, sub (the client_id), exp and
	// cnf (with a jwk) are required.
	if jws.Header.Typ != TypClientAttestation {
		return nil, bad("client attestation typ must be %s", TypClientAttestation)
	}
	var c struct {
		Iss string   `json:"iss"`
		Sub string   `json:"sub"`
		Exp *float64 `json:"exp"`
		Cnf struct {
			JWK json.RawMessage `json:"jwk"`
		} `json:"cnf"`
	}
	if jose.CheckJSON(jws.Payload, 8) != nil || json.Unmarshal([]byte(jws.Payload), &c) != nil {
		return nil, bad("client attestation payload is not a JSON object")
	}
	var attester *ClientAttester
	for i := range s.cfg.ClientAttesters {
		if s.cfg.ClientAttesters[i].Issuer == c.Iss {
			attester = &s.cfg.ClientAttesters[i]
		}
	}
	if attester == nil {
		return nil, bad("client attestation is not from a trusted attester")
	}
	if err := jws.Verify(attester.Key); err != nil {
		return nil, bad("client attestation signature: %s", describeJOSE(err))
	}
	if c.Exp == nil || !now.Before(time.Unix(int64(*c.Exp), 0).Add(Skew)) {
		return nil, bad("client attestation has expired")
	}
	if c.Sub == "" || c.Sub != clientID {
		return nil, bad("client attestation sub is not the request's client_id")
	}
	cnf, err := jose.ParsePublicJWK(c.Cnf.JWK)
	if err != nil {
		return nil, bad("client attestation cnf.jwk: %s", describeJOSE(err))
	}

	// Spec: §5.2: the PoP has typ "oauth-client-attestation-pop+jwt", is
	// signed by the cnf key, and carries aud (the authorization server's
	// issuer identifier), jti and iat.
	pj, err := jose.Parse(pop, MaxProofSize)
	if err != nil {
		return nil, bad("client attestation PoP: %s", describeJOSE(err))
	}
	if pj.Header.Typ != TypClientAttestationPoP {
		return nil, bad("client attestation PoP typ must be %s", TypClientAttestationPoP)
	}
	if err := pj.Verify(cnf); err != nil {
		return nil, bad("client attestation PoP is not signed by the attested key")
	}
	var p struct {
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
		JTI string          `json:"jti"`
		Iat *float64        `json:"iat"`
	}
	if jose.CheckJSON(pj.Payload, 8) != nil || json.Unmarshal([]byte(pj.Payload), &p) != nil {
		return nil, bad("client attestation PoP payload is not a JSON object")
	}
	if p.Iss != "" && p.Iss != clientID {
		return nil, bad("client attestation PoP iss is not the client_id")
	}
	if !audienceIs(p.Aud, asIssuer) {
		return nil, bad("client attestation PoP aud is not this authorization server")
	}
	if p.Iat == nil {
		return nil, bad("client attestation PoP iat is missing")
	}
	iat := time.Unix(int64(*p.Iat), 0)
	if iat.After(now.Add(Skew)) || iat.Before(now.Add(-s.cfg.ProofMaxAge-Skew)) {
		return nil, bad("client attestation PoP iat is outside the accepted window")
	}
	if p.JTI == "" || len(p.JTI) > 256 {
		return nil, bad("client attestation PoP jti is missing")
	}
	jkt, _ := jose.Thumbprint(cnf)
	if err := s.spendOnce(ctx, s.st, "attest-pop\x00"+jkt+"\x00"+p.JTI, now.Add(s.cfg.ProofMaxAge+2*Skew), CodeInvalidClient, "client attestation PoP was already used"); err != nil {
		return nil, err
	}
	return &ClientAttestation{Attester: c.Iss, ClientID: clientID}, nil
}

// ClientAttestation tells whether any attester is trusted.
func (s *Service) ClientAttestation() bool { return len(s.cfg.ClientAttesters) > 0 }
