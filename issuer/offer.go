package issuer

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"time"

	"github.com/tongid/tong/credential/vciwire"
	"github.com/tongid/tong/internal/ids"
)

// Grant and parameter names of OpenID4VCI 1.0.
const (
	GrantPreAuthorizedCode = vciwire.GrantPreAuthorizedCode
	GrantRefreshToken      = vciwire.GrantRefreshToken
	OfferScheme            = "openid-credential-offer://"
)

// Offer states.
const (
	offerOffered  = "offered"  // waiting for the wallet
	offerRedeemed = "redeemed" // code exchanged for an access token
	offerPending  = "pending"  // deferred: waiting for an officer
	offerIssued   = "issued"
	offerLocked   = "locked" // too many wrong tx_codes
)

// OfferRequest is what staff send to offer a citizen a credential.
type OfferRequest struct {
	Type   string         `json:"type"`
	Claims map[string]any `json:"claims"`
	// ExpiresIn is the pre-authorized code's lifetime in seconds; zero
	// means the service default.
	ExpiresIn int `json:"expires_in,omitempty"`
	// Subject, when set, stages the offer for the authorization code
	// flow as well: the citizen whose identity credential carries this
	// personal_administrative_number gets it by authenticating at the
	// agency's authorization endpoint (see FinishAuthorization). It is
	// stored only as an HMAC.
	Subject string `json:"subject,omitempty"`
}

// Offer is a created offer. PreAuthorizedCode and TxCode are secrets: the
// first travels in the QR code, the second is given to the citizen apart
// (spoken at the counter, or sent by SMS).
type Offer struct {
	ID           string    `json:"offer_id"`
	CredentialID string    `json:"credential_id"`
	OfferURI     string    `json:"offer_uri"`
	TxCode       string    `json:"tx_code"`
	ExpiresAt    time.Time `json:"expires_at"`
	// PreAuthorizedCode is not returned by the staff API: it is only in
	// the offer object the wallet fetches.
	PreAuthorizedCode string `json:"-"`
}

// CredentialOffer is the OpenID4VCI credential offer object (§4.1.1).
type CredentialOffer = vciwire.CredentialOffer

// PreAuthorizedGrant is the offer's pre-authorized code grant: its
// PreAuthorizedCode and TxCode.
type PreAuthorizedGrant = vciwire.Grant

// TxCode describes the PIN the wallet must ask for.
type TxCode = vciwire.TxCode

// CreateOffer stores an offer of one credential to one citizen and
// returns its URI and tx_code.
func (s *Service) CreateOffer(ctx context.Context, slug, actor string, req OfferRequest) (*Offer, error) {
	a, err := s.Agency(ctx, slug)
	if err != nil {
		return nil, err
	}
	t, err := s.Type(ctx, slug, req.Type)
	if err != nil {
		return nil, err
	}
	if err := t.ValidateClaims(req.Claims); err != nil {
		return nil, err
	}
	ttl := s.cfg.OfferTTL
	if req.ExpiresIn != 0 {
		ttl = time.Duration(req.ExpiresIn) * time.Second
		if ttl < time.Minute || ttl > MaxOfferTTL {
			return nil, errorf(CodeInvalidRequest, "expires_in must be between 60 and %d seconds", int(MaxOfferTTL/time.Second))
		}
	}
	if len(req.Subject) > 64 {
		return nil, errorf(CodeInvalidRequest, "subject is longer than 64 characters")
	}
	var subject []byte
	if req.Subject != "" {
		subject = s.subjectMAC(slug, req.Subject)
	}
	claims, err := json.Marshal(req.Claims)
	if err != nil {
		return nil, errorf(CodeInvalidClaims, "claims do not encode as JSON")
	}
	idb := make([]byte, 16)
	_, _ = rand.Read(idb)
	id := base64.RawURLEncoding.EncodeToString(idb)
	code := s.preAuthCode(idb)
	codeHash := sha256.Sum256([]byte(code))
	pin := txCode()
	now := s.cfg.Now()
	o := &Offer{ID: id, CredentialID: "cred_" + ids.Random(16), TxCode: pin, ExpiresAt: now.Add(ttl).UTC().Truncate(time.Second),
		PreAuthorizedCode: code, OfferURI: OfferURI(a.IssuerURL + "/offers/" + id)}
	rec := &offerRecord{ID: id, Agency: slug, TypeID: t.ID, CredentialID: o.CredentialID, CodeHash: codeHash[:], TxCodeMAC: s.txMAC(id, pin),
		Claims: string(claims), CreatedBy: actor, CreatedAt: now.Unix(), ExpiresAt: o.ExpiresAt.Unix(), SubjectMAC: subject}
	err = s.st.groupTx(ctx, func(tx storeTx) error {
		if err := tx.insertOffer(ctx, rec); err != nil {
			return err
		}
		return s.audit(ctx, tx, slug, actor, "offer.create", id, t.ID)
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// OfferURI is the by-reference offer URI a QR code carries.
func OfferURI(credentialOfferURI string) string {
	return OfferScheme + "?credential_offer_uri=" + url.QueryEscape(credentialOfferURI)
}

// preAuthCode derives the pre-authorized code from the offer id: the id
// and an HMAC of it, 256 bits in all, 128 of them secret. The database
// keeps only its hash; the offer object, fetched by reference, rebuilds it.
func (s *Service) preAuthCode(id []byte) string {
	m := hmac.New(sha256.New, s.macKey)
	m.Write([]byte("pre-authorized_code"))
	m.Write(id)
	return base64.RawURLEncoding.EncodeToString(append(append([]byte{}, id...), m.Sum(nil)[:16]...))
}

// offerIDFromCode checks a code's MAC and returns the offer id it names.
func (s *Service) offerIDFromCode(code string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(code)
	if err != nil || len(b) != 32 {
		return "", false
	}
	want := s.preAuthCode(b[:16])
	if subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
		return "", false
	}
	return base64.RawURLEncoding.EncodeToString(b[:16]), true
}

func (s *Service) txMAC(offerID, pin string) []byte {
	m := hmac.New(sha256.New, s.macKey)
	m.Write([]byte("tx_code\x00" + offerID + "\x00" + pin))
	return m.Sum(nil)
}

// txCode returns a uniformly random 6-digit PIN.
func txCode() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%06d", binary.BigEndian.Uint64(b[:])%1_000_000)
}

// CredentialOfferObject returns the offer object that the offer URI
// references, as long as the offer can still be redeemed.
func (s *Service) CredentialOfferObject(ctx context.Context, slug, offerID string) (*CredentialOffer, error) {
	a, err := s.Agency(ctx, slug)
	if err != nil {
		return nil, err
	}
	typeID, state, expires, err := s.st.offerObject(ctx, offerID, slug)
	if errors.Is(err, errNoRecord) || (err == nil && (state != offerOffered || s.cfg.Now().Unix() >= expires)) {
		return nil, errorf(CodeNotFound, "no such offer, or it was used or has expired")
	}
	if err != nil {
		return nil, err
	}
	idb, err := base64.RawURLEncoding.DecodeString(offerID)
	if err != nil || len(idb) != 16 {
		return nil, errorf(CodeNotFound, "no such offer")
	}
	return &CredentialOffer{
		CredentialIssuer:           a.IssuerURL,
		CredentialConfigurationIDs: []string{typeID},
		Grants: map[string]PreAuthorizedGrant{GrantPreAuthorizedCode: {
			PreAuthorizedCode: s.preAuthCode(idb),
			TxCode:            &TxCode{InputMode: "numeric", Length: TxCodeLength, Description: "Enter the 6-digit PIN the agency gave you / 请输入工作人员提供的6位数字"},
		}},
	}, nil
}

// TokenRequest is a token endpoint request (OpenID4VCI §6.1).
type TokenRequest struct {
	GrantType         string
	PreAuthorizedCode string
	TxCode            string
	TxCodeSent        bool
	// RefreshToken is the refresh_token grant's token.
	RefreshToken string
	// DPoPKey is the JWK thumbprint of a verified DPoP proof, or "".
	DPoPKey string
	// The authorization_code grant's parameters (RFC 6749 §4.1.3,
	// RFC 7636 §4.5).
	Code, CodeVerifier, RedirectURI, ClientID string
}

// TokenResponse is the token endpoint's answer (RFC 6749 §5.1,
// OpenID4VCI §6.2).
type TokenResponse = vciwire.TokenResponse

// AuthorizationDetail tells the wallet which credential identifiers its
// token covers (OpenID4VCI §6.2).
type AuthorizationDetail = vciwire.AuthorizationDetail

// accessToken is what an access token seals: the offer it is bound to.
type accessToken struct {
	Offer  string `json:"o"`
	Agency string `json:"a"`
	Exp    int64  `json:"e"`
	JKT    string `json:"j,omitempty"`
	// Key seals the credential's claims for later refreshes; Refresh
	// marks a token from the refresh_token grant, ID names it so that it
	// is spent by its one credential request.
	Key     []byte `json:"k,omitempty"`
	Refresh bool   `json:"r,omitempty"`
	ID      string `json:"i,omitempty"`
}

// refreshToken is what a refresh token seals. Gen is its generation: only
// the newest refresh token of a credential works (rotation). JKT binds it
// to the DPoP key of the grant that gave it, if any.
type refreshToken struct {
	Offer  string `json:"o"`
	Agency string `json:"a"`
	Key    []byte `json:"k"`
	Gen    int64  `json:"g,omitempty"`
	JKT    string `json:"j,omitempty"`
}

// familyRevoked is refresh_gen once an old refresh token was reused.
const familyRevoked = -1

// Token redeems a pre-authorized code and tx_code for an access token.
// A code works once; a wrong tx_code counts, and MaxTxTries wrong ones
// lock the offer for good.
func (s *Service) Token(ctx context.Context, slug string, req TokenRequest) (*TokenResponse, error) {
	if _, err := s.Agency(ctx, slug); err != nil {
		return nil, err
	}
	var err error
	switch {
	case req.GrantType == GrantRefreshToken:
		return s.refresh(ctx, slug, req)
	case req.GrantType == GrantAuthorizationCode && s.AuthorizationFlow():
		return s.redeemCode(ctx, slug, req)
	case req.GrantType != GrantPreAuthorizedCode:
		return nil, errorf(CodeUnsupportedGrantType, "grant_type %q is not supported", req.GrantType)
	}
	if req.PreAuthorizedCode == "" {
		return nil, errorf(CodeInvalidRequest, "pre-authorized_code is missing")
	}
	if !req.TxCodeSent {
		return nil, errorf(CodeInvalidRequest, "tx_code is required for this offer")
	}
	offerID, ok := s.offerIDFromCode(req.PreAuthorizedCode)
	if !ok {
		return nil, errorf(CodeInvalidGrant, "pre-authorized code is invalid")
	}
	now := s.cfg.Now()
	var resp *TokenResponse
	var grantErr error
	err = s.st.groupTx(ctx, func(tx storeTx) error {
		o, err := tx.offerForToken(ctx, offerID)
		if errors.Is(err, errNoRecord) || (err == nil && o.Agency != slug) {
			grantErr = errorf(CodeInvalidGrant, "pre-authorized code is invalid")
			return nil
		}
		if err != nil {
			return err
		}
		typeID, credID, mac, tries, state, expires := o.TypeID, o.CredentialID, o.TxCodeMAC, o.Tries, o.State, o.ExpiresAt
		switch {
		case state == offerLocked:
			grantErr = errorf(CodeInvalidGrant, "offer is locked after too many wrong tx_code attempts; ask the agency for a new one")
			return nil
		case state != offerOffered:
			grantErr = errorf(CodeInvalidGrant, "pre-authorized code was already used")
			return nil
		case now.Unix() >= expires:
			grantErr = errorf(CodeInvalidGrant, "pre-authorized code has expired")
			return nil
		}
		if !hmac.Equal(mac, s.txMAC(offerID, req.TxCode)) {
			tries++
			next := offerOffered
			if tries >= int64(s.cfg.MaxTxTries) {
				next = offerLocked
			}
			if err := tx.setTxTries(ctx, offerID, tries, next); err != nil {
				return err
			}
			if next == offerLocked {
				grantErr = errorf(CodeInvalidGrant, "wrong tx_code; the offer is now locked")
				return s.audit(ctx, tx, slug, "wallet", "offer.locked", offerID, "")
			}
			grantErr = errorf(CodeInvalidGrant, "wrong tx_code (%d of %d attempts left)", int64(s.cfg.MaxTxTries)-tries, s.cfg.MaxTxTries)
			return nil
		}
		ok, err := tx.redeemOffer(ctx, offerID, now.Unix())
		if err != nil {
			return err
		}
		if !ok {
			grantErr = errorf(CodeInvalidGrant, "pre-authorized code was already used")
			return nil
		}
		resp = s.grant(slug, offerID, typeID, credID, req.DPoPKey, now)
		return s.audit(ctx, tx, slug, "wallet", "offer.redeem", offerID, "")
	})
	if err != nil {
		return nil, err
	}
	if grantErr != nil {
		return nil, grantErr
	}
	return resp, nil
}

// grant makes the access and refresh tokens of a redeemed offer.
func (s *Service) grant(slug, offerID, typeID, credID, dpopKey string, now time.Time) *TokenResponse {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	at, _ := json.Marshal(accessToken{Offer: offerID, Agency: slug, Exp: now.Add(s.cfg.AccessTokenTTL).Unix(), JKT: dpopKey, Key: key})
	rt, _ := json.Marshal(refreshToken{Offer: offerID, Agency: slug, Key: key, JKT: dpopKey})
	resp := &TokenResponse{AccessToken: seal(s.tokenKey, "access_token", at), TokenType: "Bearer", ExpiresIn: int(s.cfg.AccessTokenTTL / time.Second),
		RefreshToken:         seal(s.tokenKey, "refresh_token", rt),
		AuthorizationDetails: []AuthorizationDetail{{Type: AuthorizationDetailsType, CredentialConfigurationID: typeID, CredentialIdentifiers: []string{credID}}}}
	if dpopKey != "" {
		resp.TokenType = "DPoP"
	}
	return resp
}

// refresh answers the refresh_token grant (RFC 6749 §6): a new access
// token that lets the wallet fetch fresh copies of a credential that is
// still valid, and a new refresh token in place of the one presented.
//
// Spec: RFC 9700 §4.14.2 (refresh token rotation), in paraphrase: every
// refresh response carries a new refresh token and the previous one is
// invalidated; when an invalidated one is presented, the server cannot
// tell the legitimate client from the attacker, so it revokes the active
// refresh token too. Here a refresh token older than the newest is such
// a reuse: the credential's whole family of refresh tokens, and the
// access tokens they gave, stop working.
func (s *Service) refresh(ctx context.Context, slug string, req TokenRequest) (*TokenResponse, error) {
	plain, ok := open(s.tokenKey, "refresh_token", req.RefreshToken)
	var rt refreshToken
	if !ok || json.Unmarshal(plain, &rt) != nil || rt.Agency != slug {
		return nil, errorf(CodeInvalidGrant, "refresh token is invalid")
	}
	// Spec: RFC 9449 §5: a refresh token issued to a public client with
	// DPoP is bound to the DPoP key, and using it needs a proof by that
	// key. Checked before anything changes, so a thief's tries spend
	// nothing.
	if rt.JKT != "" && req.DPoPKey != rt.JKT {
		return nil, errorf(CodeInvalidGrant, "refresh token is bound to a DPoP key that this request did not prove")
	}
	now := s.cfg.Now()
	var resp *TokenResponse
	var grantErr error
	err := s.st.groupTx(ctx, func(tx storeTx) error {
		c, err := tx.refreshState(ctx, rt.Offer, slug)
		if errors.Is(err, errNoRecord) {
			grantErr = errorf(CodeInvalidGrant, "refresh token is invalid")
			return nil
		}
		if err != nil {
			return err
		}
		status, typeID, credID, expires, gen := c.Status, c.TypeID, c.ID, c.ExpiresAt, c.RefreshGen
		if status != StatusValid || now.Unix() >= expires {
			grantErr = errorf(CodeInvalidGrant, "the credential is %s; it cannot be refreshed", map[bool]string{true: status, false: "expired"}[status != StatusValid])
			return nil
		}
		if gen == familyRevoked {
			grantErr = errorf(CodeInvalidGrant, "this credential's refresh tokens were revoked after one was reused; ask the agency for a new offer")
			return nil
		}
		ok, err := tx.rotateRefresh(ctx, credID, rt.Gen, gen+1)
		if err != nil {
			return err
		}
		if !ok {
			// An old refresh token: whoever holds the newest one (the
			// wallet or a thief) cannot be told apart, so neither keeps it.
			if err := tx.revokeRefreshFamily(ctx, credID); err != nil {
				return err
			}
			grantErr = errorf(CodeInvalidGrant, "refresh token was already used; this credential's refresh tokens are now revoked")
			return s.audit(ctx, tx, slug, "wallet", "refresh.reuse", credID, "")
		}
		next := gen + 1
		at, _ := json.Marshal(accessToken{Offer: rt.Offer, Agency: slug, Exp: now.Add(s.cfg.AccessTokenTTL).Unix(), JKT: req.DPoPKey, Key: rt.Key,
			Refresh: true, ID: ids.Random(16)})
		nrt, _ := json.Marshal(refreshToken{Offer: rt.Offer, Agency: slug, Key: rt.Key, Gen: next, JKT: rt.JKT})
		resp = &TokenResponse{AccessToken: seal(s.tokenKey, "access_token", at), TokenType: "Bearer", ExpiresIn: int(s.cfg.AccessTokenTTL / time.Second),
			RefreshToken:         seal(s.tokenKey, "refresh_token", nrt),
			AuthorizationDetails: []AuthorizationDetail{{Type: AuthorizationDetailsType, CredentialConfigurationID: typeID, CredentialIdentifiers: []string{credID}}}}
		if req.DPoPKey != "" {
			resp.TokenType = "DPoP"
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if grantErr != nil {
		return nil, grantErr
	}
	return resp, nil
}

// openAccessToken checks an access token for an agency.
func (s *Service) openAccessToken(slug, token, dpopKey string) (*accessToken, error) {
	plain, ok := open(s.tokenKey, "access_token", token)
	if !ok {
		return nil, errorf(CodeInvalidToken, "access token is invalid")
	}
	var at accessToken
	if err := json.Unmarshal(plain, &at); err != nil || at.Agency != slug {
		return nil, errorf(CodeInvalidToken, "access token is invalid")
	}
	if s.cfg.Now().Unix() >= at.Exp {
		return nil, errorf(CodeInvalidToken, "access token has expired")
	}
	if at.JKT != dpopKey {
		if at.JKT == "" {
			return nil, errorf(CodeInvalidToken, "a Bearer token was sent with a DPoP proof")
		}
		return nil, errorf(CodeInvalidToken, "access token is bound to a DPoP key that this request did not prove")
	}
	return &at, nil
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
