package issuer

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"time"

	"github.com/tongid/tong/internal/ids"
	"github.com/tongid/tong/internal/jose"
)

// Header types this package checks.
const (
	TypProof = "openid4vci-proof+jwt"
	TypDPoP  = "dpop+jwt"
)

// MaxProofSize bounds one proof or DPoP JWT.
const MaxProofSize = 16 << 10

// ProofSigningAlgs are the proof_signing_alg_values_supported.
var ProofSigningAlgs = []string{jose.ES256, jose.EdDSA}

// Nonce returns a fresh c_nonce (OpenID4VCI §7). It is sealed, so the
// issuer keeps no state until it is used; a used nonce is remembered
// until it expires, so it works once.
func (s *Service) Nonce() string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(s.cfg.Now().Add(s.cfg.NonceTTL).Unix()))
	copy(b[8:], ids.Random(12))
	return seal(s.nonceKey, "c_nonce", b[:])
}

// checkNonce reports whether n is a nonce this issuer made that has not
// expired; it returns its expiry. Whether it was used is checked when it
// is spent.
func (s *Service) checkNonce(n string) (time.Time, bool) {
	b, ok := open(s.nonceKey, "c_nonce", n)
	if !ok || len(b) != 24 {
		return time.Time{}, false
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	return exp, s.cfg.Now().Before(exp)
}

// provenKey is a holder key proven by a proof JWT.
type provenKey struct {
	Key   crypto.PublicKey
	JKT   string
	Nonce string
	Exp   time.Time
}

// verifyProof checks one jwt key proof (OpenID4VCI §8.2.1.1, App. F.4).
func (s *Service) verifyProof(issuerURL, proof string) (*provenKey, error) {
	jws, err := jose.Parse(proof, MaxProofSize)
	if err != nil {
		return nil, &Error{Code: CodeInvalidProof, Description: "proof: " + string(jose.CodeOf(err)), Err: err}
	}
	h := jws.Header
	if h.Typ != TypProof {
		return nil, errorf(CodeInvalidProof, "proof typ must be %s", TypProof)
	}
	if h.Kid != "" || len(h.X5C) > 0 || len(h.JWK) == 0 {
		return nil, errorf(CodeInvalidProof, "proof must carry the holder key as jwk (kid and x5c are not supported)")
	}
	key, err := jose.ParsePublicJWK(h.JWK)
	if err != nil {
		return nil, &Error{Code: CodeInvalidProof, Description: "proof jwk: " + describeJOSE(err), Err: err}
	}
	if err := jws.Verify(key); err != nil {
		return nil, &Error{Code: CodeInvalidProof, Description: "proof: " + describeJOSE(err), Err: err}
	}
	var c struct {
		Aud   json.RawMessage `json:"aud"`
		Iat   *float64        `json:"iat"`
		Nonce *string         `json:"nonce"`
	}
	if err := jose.CheckJSON(jws.Payload, 8); err != nil {
		return nil, errorf(CodeInvalidProof, "proof payload is not a JSON object")
	}
	if err := json.Unmarshal([]byte(jws.Payload), &c); err != nil {
		return nil, errorf(CodeInvalidProof, "proof payload is not a JSON object")
	}
	if !audienceIs(c.Aud, issuerURL) {
		return nil, errorf(CodeInvalidProof, "proof aud must be the credential issuer %s", issuerURL)
	}
	if c.Iat == nil || math.IsNaN(*c.Iat) || math.IsInf(*c.Iat, 0) {
		return nil, errorf(CodeInvalidProof, "proof iat is missing")
	}
	iat := time.Unix(int64(*c.Iat), 0)
	now := s.cfg.Now()
	if iat.After(now.Add(Skew)) {
		return nil, errorf(CodeInvalidProof, "proof iat is in the future")
	}
	if iat.Before(now.Add(-s.cfg.ProofMaxAge - Skew)) {
		return nil, errorf(CodeInvalidProof, "proof iat is too old")
	}
	if c.Nonce == nil || *c.Nonce == "" {
		return nil, errorf(CodeInvalidNonce, "proof has no nonce; get a c_nonce from the nonce endpoint")
	}
	exp, ok := s.checkNonce(*c.Nonce)
	if !ok {
		return nil, errorf(CodeInvalidNonce, "proof nonce is unknown or expired; get a new c_nonce")
	}
	jkt, err := jose.Thumbprint(key)
	if err != nil {
		return nil, errorf(CodeInvalidProof, "proof key: %v", err)
	}
	return &provenKey{Key: key, JKT: jkt, Nonce: *c.Nonce, Exp: exp}, nil
}

func audienceIs(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == want
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil && len(many) == 1 {
		return many[0] == want
	}
	return false
}

func describeJOSE(err error) string {
	var e *jose.Error
	if ok := asJOSE(err, &e); ok {
		if e.Description != "" {
			return string(e.Code) + ": " + e.Description
		}
		return string(e.Code)
	}
	return "invalid"
}

// DPoP is a verified DPoP proof (RFC 9449): the thumbprint of its key and
// its jti, which is spent once.
type DPoP struct {
	JKT string
	jti string
	exp time.Time
}

// VerifyDPoP checks a DPoP proof for a request to htu with method htm.
// accessToken, when set, must match the proof's ath.
func (s *Service) VerifyDPoP(proof, htm, htu, accessToken string) (*DPoP, error) {
	bad := func(format string, args ...any) error { return errorf(CodeInvalidDPoPProof, format, args...) }
	jws, err := jose.Parse(proof, MaxProofSize)
	if err != nil {
		return nil, &Error{Code: CodeInvalidDPoPProof, Description: "DPoP proof: " + describeJOSE(err), Err: err}
	}
	if jws.Header.Typ != TypDPoP {
		return nil, bad("DPoP proof typ must be %s", TypDPoP)
	}
	key, err := jose.ParsePublicJWK(jws.Header.JWK)
	if err != nil {
		return nil, bad("DPoP proof jwk: %s", describeJOSE(err))
	}
	if err := jws.Verify(key); err != nil {
		return nil, bad("DPoP proof: %s", describeJOSE(err))
	}
	var c struct {
		JTI string   `json:"jti"`
		HTM string   `json:"htm"`
		HTU string   `json:"htu"`
		Iat *float64 `json:"iat"`
		ATH string   `json:"ath"`
	}
	if jose.CheckJSON(jws.Payload, 8) != nil || json.Unmarshal([]byte(jws.Payload), &c) != nil {
		return nil, bad("DPoP proof payload is not a JSON object")
	}
	if c.JTI == "" || len(c.JTI) > 256 {
		return nil, bad("DPoP proof jti is missing")
	}
	if c.HTM != htm || c.HTU != htu {
		return nil, bad("DPoP proof htm/htu do not match this request")
	}
	if c.Iat == nil {
		return nil, bad("DPoP proof iat is missing")
	}
	iat := time.Unix(int64(*c.Iat), 0)
	now := s.cfg.Now()
	if iat.After(now.Add(Skew)) || iat.Before(now.Add(-s.cfg.ProofMaxAge-Skew)) {
		return nil, bad("DPoP proof iat is outside the accepted window")
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		if c.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
			return nil, bad("DPoP proof ath does not match the access token")
		}
	}
	jkt, err := jose.Thumbprint(key)
	if err != nil {
		return nil, bad("DPoP key: %v", err)
	}
	return &DPoP{JKT: jkt, jti: "dpop\x00" + jkt + "\x00" + c.JTI, exp: now.Add(s.cfg.ProofMaxAge + 2*Skew)}, nil
}

// SpendDPoP records a DPoP proof's jti, refusing one seen before.
func (s *Service) SpendDPoP(ctx context.Context, d *DPoP) error {
	if d == nil {
		return nil
	}
	return s.spendOnce(ctx, s.st, d.jti, d.exp, CodeInvalidDPoPProof, "DPoP proof was already used")
}

// spendOnce records a single-use value (nonce, jti) until exp, in w: the
// store, or a transaction.
func (s *Service) spendOnce(ctx context.Context, w recorder, value string, exp time.Time, code Code, msg string) error {
	h := sha256.Sum256([]byte(value))
	ok, err := w.spend(ctx, h[:], exp.Unix())
	if err != nil {
		return err
	}
	if !ok {
		return errorf(code, "%s", msg)
	}
	return nil
}

// PurgeExpired deletes single-use values past their expiry and ends
// offers past theirs, wiping their claims. cmd/tong runs it periodically.
func (s *Service) PurgeExpired(ctx context.Context) error {
	now := s.cfg.Now().Unix()
	// Authorizations past their expiry can no longer be used; a day on,
	// they go (their codes are kept only as hashes). Offered and locked
	// offers past their expiry lose their claims, and so does a redeemed
	// offer whose access token has expired: it can never be issued.
	return s.st.purgeExpired(ctx, now, now-24*3600, now-int64(s.cfg.AccessTokenTTL/time.Second))
}
