package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/credential/vciwire"
	"github.com/tongid/tong/internal/ids"
	"github.com/tongid/tong/internal/jose"
)

// CredentialRequest is the credential endpoint's body (OpenID4VCI §8.2).
// Its Proof member (the pre-final singular form) is refused with a clear
// error rather than ignored.
type CredentialRequest = vciwire.CredentialRequest

// CredentialResponse is the credential (or deferred) endpoint's answer
// (§8.3, §9.2). Either Credentials is set (200) or TransactionID and
// Interval (202).
type CredentialResponse = vciwire.CredentialResponse

// IssuedCredential is one credential in a response.
type IssuedCredential = vciwire.IssuedCredential

// offerRow is an offer as the credential endpoint needs it.
// Claims, TransactionID, ApprovedBy and HolderKeys are nil when unset.
type offerRow struct {
	ID, Agency, TypeID, CredentialID, State string
	Claims                                  *string
	TransactionID, ApprovedBy, HolderKeys   *string
}

func (s *Service) loadOffer(ctx context.Context, id string) (*offerRow, error) {
	o, err := s.st.offer(ctx, id)
	if errors.Is(err, errNoRecord) {
		return nil, errorf(CodeInvalidToken, "access token is invalid")
	}
	return o, err
}

// Credential answers a credential request made with an access token.
// dpopKey is the thumbprint of the request's verified DPoP proof, or "".
func (s *Service) Credential(ctx context.Context, slug, token, dpopKey string, req *CredentialRequest) (*CredentialResponse, int, error) {
	at, err := s.openAccessToken(slug, token, dpopKey)
	if err != nil {
		return nil, 0, err
	}
	a, err := s.Agency(ctx, slug)
	if err != nil {
		return nil, 0, err
	}
	if len(req.Proof) > 0 {
		return nil, 0, errorf(CodeInvalidCredentialRequest, "use proofs (OpenID4VCI 1.0), not proof")
	}
	if at.Refresh {
		return s.refreshCredential(ctx, a, at, req)
	}
	o, err := s.loadOffer(ctx, at.Offer)
	if err != nil {
		return nil, 0, err
	}
	if o.State != offerRedeemed {
		return nil, 0, errorf(CodeInvalidToken, "access token was already used for this offer's credential")
	}
	if len(req.CredentialResponseEncryption) > 0 {
		return nil, 0, errorf(CodeInvalidCredentialRequest, "credential response encryption is not supported by this issuer")
	}
	switch {
	case req.CredentialConfigurationID != "" && req.CredentialIdentifier != "":
		return nil, 0, errorf(CodeInvalidCredentialRequest, "send credential_configuration_id or credential_identifier, not both")
	case req.CredentialIdentifier != "":
		if req.CredentialIdentifier != o.CredentialID {
			return nil, 0, errorf(CodeUnknownCredentialIdentifier, "credential_identifier is not one this token was issued for")
		}
	case req.CredentialConfigurationID != "":
		if req.CredentialConfigurationID != o.TypeID {
			return nil, 0, errorf(CodeUnknownCredentialConfiguration, "credential_configuration_id %q is not offered to this token", req.CredentialConfigurationID)
		}
	default:
		return nil, 0, errorf(CodeInvalidCredentialRequest, "credential_configuration_id or credential_identifier is required")
	}
	t, err := s.Type(ctx, slug, o.TypeID)
	if err != nil {
		return nil, 0, errorf(CodeUnknownCredentialConfiguration, "credential type %q no longer exists", o.TypeID)
	}
	proofs, err := s.parseProofs(a.IssuerURL, req.Proofs)
	if err != nil {
		return nil, 0, err
	}
	now := s.cfg.Now()
	if t.Deferred && o.ApprovedBy == nil {
		// Deferred: keep the proven keys and wait for an officer.
		jwks := make([]jose.JWK, len(proofs))
		for i, p := range proofs {
			if jwks[i], err = jose.PublicJWK(p.Key); err != nil {
				return nil, 0, err
			}
		}
		keysJSON, _ := json.Marshal(jwks)
		txID := "tx_" + ids.Random(16)
		err := s.st.groupTx(ctx, func(tx storeTx) error {
			if err := s.spendNonces(ctx, tx, proofs); err != nil {
				return err
			}
			ok, err := tx.deferOffer(ctx, o.ID, txID, string(keysJSON))
			if err != nil {
				return err
			}
			if !ok {
				return errorf(CodeInvalidToken, "access token was already used")
			}
			return s.audit(ctx, tx, slug, "wallet", "credential.deferred", o.CredentialID, t.ID)
		})
		if err != nil {
			return nil, 0, err
		}
		return &CredentialResponse{TransactionID: txID, Interval: int(DefaultDeferInterval / time.Second)}, 202, nil
	}
	resp, err := s.issue(ctx, a, t, o, proofs, offerRedeemed, now, at.Key)
	if err != nil {
		return nil, 0, err
	}
	return resp, 200, nil
}

// parseProofs checks the proofs object: {"jwt": [1..batch_size proofs]},
// each valid, each for a different key.
func (s *Service) parseProofs(issuerURL string, raw json.RawMessage) ([]*provenKey, error) {
	if len(raw) == 0 {
		return nil, errorf(CodeInvalidProof, "proofs is required: this issuer binds credentials to holder keys")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errorf(CodeInvalidCredentialRequest, "proofs must be an object")
	}
	if len(m) != 1 || m["jwt"] == nil {
		return nil, errorf(CodeInvalidProof, "proofs must hold exactly one proof type, jwt")
	}
	var jwts []string
	if err := json.Unmarshal(m["jwt"], &jwts); err != nil || len(jwts) == 0 {
		return nil, errorf(CodeInvalidCredentialRequest, "proofs.jwt must be a non-empty array of strings")
	}
	if len(jwts) > s.cfg.BatchSize {
		return nil, errorf(CodeInvalidCredentialRequest, "at most %d proofs (batch_size) per request", s.cfg.BatchSize)
	}
	out := make([]*provenKey, 0, len(jwts))
	seen := map[string]bool{}
	for _, p := range jwts {
		k, err := s.verifyProof(issuerURL, p)
		if err != nil {
			return nil, err
		}
		if seen[k.JKT] {
			return nil, errorf(CodeInvalidProof, "two proofs for the same key; batch issuance needs one key per credential")
		}
		seen[k.JKT] = true
		out = append(out, k)
	}
	return out, nil
}

func (s *Service) spendNonces(ctx context.Context, tx storeTx, proofs []*provenKey) error {
	done := map[string]bool{}
	for _, p := range proofs {
		if done[p.Nonce] {
			continue // one c_nonce may serve every proof of one request
		}
		done[p.Nonce] = true
		if err := s.spendOnce(ctx, tx, "c_nonce\x00"+p.Nonce, p.Exp, CodeInvalidNonce, "proof nonce was already used; get a new c_nonce"); err != nil {
			return err
		}
	}
	return nil
}

// issue records and signs one credential per proven key. The offer's state
// moves from `from` to issued in the same transaction that spends the
// nonces and takes the status list entries, so two requests cannot both
// succeed; the claims are wiped from the offer there too.
func (s *Service) issue(ctx context.Context, a *Agency, t *CredentialType, o *offerRow, proofs []*provenKey, from string, now time.Time, refreshKey []byte) (*CredentialResponse, error) {
	if o.Claims == nil {
		return nil, errorf(CodeCredentialRequestDenied, "the offer's data is gone")
	}
	var claims map[string]any
	if err := json.Unmarshal([]byte(*o.Claims), &claims); err != nil {
		return nil, fmt.Errorf("issuer: stored claims: %w", err)
	}
	exp := now.Add(t.Validity())
	notificationID := "ntf_" + ids.Random(16)
	var sealed []byte
	if len(refreshKey) == 32 {
		sealed = []byte(seal(refreshKey, "claims\x00"+o.CredentialID, []byte(*o.Claims)))
	}
	rec := &storedCredential{ID: o.CredentialID, Agency: a.Slug, TypeID: t.ID, OfferID: o.ID, Status: StatusValid, Copies: len(proofs),
		IssuedAt: now.Unix(), ExpiresAt: exp.Unix(), NotificationID: notificationID, SealedClaims: sealed}
	var refs []credential.StatusRef
	err := s.withStatus(ctx, a.Slug, len(proofs), func(tx storeTx, r statusReservation) error {
		if from == offerRedeemed {
			if err := s.spendNonces(ctx, tx, proofs); err != nil {
				return err
			}
		}
		ok, err := tx.markOfferIssued(ctx, o.ID, from)
		if err != nil {
			return err
		}
		if !ok {
			return errorf(CodeInvalidToken, "access token was already used")
		}
		if err := tx.saveCredential(ctx, rec); err != nil {
			return err
		}
		refs, err = s.allocateStatus(ctx, tx, r, a, o.CredentialID, len(proofs))
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, a.Slug, "wallet", "credential.issue", o.CredentialID, fmt.Sprintf("%s copies=%d", t.ID, len(proofs)))
	})
	if err != nil {
		return nil, err
	}
	creds, err := s.sign(a, t, claims, proofs, refs, now, exp)
	if err != nil {
		// The record is committed; the wallet can be offered anew.
		return nil, fmt.Errorf("issuer: sign credential %s: %w", o.CredentialID, err)
	}
	return &CredentialResponse{NotificationID: notificationID, Credentials: creds}, nil
}

// sign makes one SD-JWT VC per proven key.
func (s *Service) sign(a *Agency, t *CredentialType, claims map[string]any, proofs []*provenKey, refs []credential.StatusRef, now, exp time.Time) ([]IssuedCredential, error) {
	disclosable := t.disclosable(claims)
	out := make([]IssuedCredential, 0, len(proofs))
	for i, p := range proofs {
		ref := refs[i]
		sdjwt, err := credential.IssueVC(a.signer, credential.VC{
			Issuer: a.IssuerURL, VCT: t.VCT, KeyID: a.KeyID, X5C: a.X5C, IssuedAt: now, Expiry: exp,
			Holder: p.Key, Status: &ref, Claims: claims, Disclosable: disclosable,
		}, credential.IssueOptions{})
		if err != nil {
			return nil, err
		}
		out = append(out, IssuedCredential{Credential: sdjwt})
	}
	return out, nil
}

// refreshCredential issues fresh copies of a still-valid credential to new
// holder keys: the claims are unsealed with the key only the refresh token
// carries, and each copy gets its own new status entry.
func (s *Service) refreshCredential(ctx context.Context, a *Agency, at *accessToken, req *CredentialRequest) (*CredentialResponse, int, error) {
	c, err := s.st.credentialByOffer(ctx, at.Offer, a.Slug)
	if errors.Is(err, errNoRecord) {
		return nil, 0, errorf(CodeInvalidToken, "access token is invalid")
	}
	if err != nil {
		return nil, 0, err
	}
	credID, typeID, status, expires, sealed := c.ID, c.TypeID, c.Status, c.ExpiresAt, c.SealedClaims
	now := s.cfg.Now()
	if status != StatusValid || now.Unix() >= expires {
		return nil, 0, errorf(CodeCredentialRequestDenied, "the credential is no longer valid")
	}
	switch {
	case req.CredentialConfigurationID != "" && req.CredentialIdentifier != "":
		return nil, 0, errorf(CodeInvalidCredentialRequest, "send credential_configuration_id or credential_identifier, not both")
	case req.CredentialIdentifier != "" && req.CredentialIdentifier != credID:
		return nil, 0, errorf(CodeUnknownCredentialIdentifier, "credential_identifier is not one this token was issued for")
	case req.CredentialConfigurationID != "" && req.CredentialConfigurationID != typeID:
		return nil, 0, errorf(CodeUnknownCredentialConfiguration, "credential_configuration_id %q is not this token's", req.CredentialConfigurationID)
	case req.CredentialConfigurationID == "" && req.CredentialIdentifier == "":
		return nil, 0, errorf(CodeInvalidCredentialRequest, "credential_configuration_id or credential_identifier is required")
	}
	plain, ok := openMax(at.Key, "claims\x00"+credID, string(sealed), 4<<20)
	var claims map[string]any
	if !ok || json.Unmarshal(plain, &claims) != nil {
		return nil, 0, errorf(CodeCredentialRequestDenied, "this credential cannot be refreshed")
	}
	t, err := s.Type(ctx, a.Slug, typeID)
	if err != nil {
		return nil, 0, errorf(CodeCredentialRequestDenied, "credential type %q no longer exists", typeID)
	}
	proofs, err := s.parseProofs(a.IssuerURL, req.Proofs)
	if err != nil {
		return nil, 0, err
	}
	if at.ID == "" {
		return nil, 0, errorf(CodeInvalidToken, "access token is invalid")
	}
	var refs []credential.StatusRef
	err = s.withStatus(ctx, a.Slug, len(proofs), func(tx storeTx, r statusReservation) error {
		// The access token serves one credential request, and only while
		// its refresh family stands.
		gen, err := tx.refreshGen(ctx, credID)
		if err != nil {
			return err
		}
		if gen == familyRevoked {
			return errorf(CodeInvalidToken, "this credential's refresh tokens were revoked")
		}
		if err := s.spendOnce(ctx, tx, "access_token\x00"+at.ID, time.Unix(at.Exp, 0), CodeInvalidToken, "access token was already used"); err != nil {
			return err
		}
		if err := s.spendNonces(ctx, tx, proofs); err != nil {
			return err
		}
		if refs, err = s.allocateStatus(ctx, tx, r, a, credID, len(proofs)); err != nil {
			return err
		}
		if err := tx.addCopies(ctx, credID, len(proofs)); err != nil {
			return err
		}
		return s.audit(ctx, tx, a.Slug, "wallet", "credential.refresh", credID, fmt.Sprintf("%s copies=%d", typeID, len(proofs)))
	})
	if err != nil {
		return nil, 0, err
	}
	creds, err := s.sign(a, t, claims, proofs, refs, now, time.Unix(expires, 0))
	if err != nil {
		return nil, 0, fmt.Errorf("issuer: sign credential %s: %w", credID, err)
	}
	return &CredentialResponse{Credentials: creds}, 200, nil
}

// DeferredRequest is the deferred credential endpoint's body (§9.1).
type DeferredRequest = vciwire.DeferredCredentialRequest

// Deferred answers a deferred credential request: 202 while the officer
// has not approved, the credentials once they have.
func (s *Service) Deferred(ctx context.Context, slug, token, dpopKey, transactionID string) (*CredentialResponse, int, error) {
	at, err := s.openAccessToken(slug, token, dpopKey)
	if err != nil {
		return nil, 0, err
	}
	a, err := s.Agency(ctx, slug)
	if err != nil {
		return nil, 0, err
	}
	o, err := s.loadOffer(ctx, at.Offer)
	if err != nil {
		return nil, 0, err
	}
	if transactionID == "" || o.TransactionID == nil || *o.TransactionID != transactionID || o.State != offerPending {
		return nil, 0, errorf(CodeInvalidTransactionID, "transaction_id is unknown, already completed, or not this token's")
	}
	if o.ApprovedBy == nil {
		return &CredentialResponse{TransactionID: transactionID, Interval: int(DefaultDeferInterval / time.Second)}, 202, nil
	}
	t, err := s.Type(ctx, slug, o.TypeID)
	if err != nil {
		return nil, 0, errorf(CodeCredentialRequestDenied, "credential type %q no longer exists", o.TypeID)
	}
	var jwks []jose.JWK
	var holderKeys string
	if o.HolderKeys != nil {
		holderKeys = *o.HolderKeys
	}
	if err := json.Unmarshal([]byte(holderKeys), &jwks); err != nil {
		return nil, 0, fmt.Errorf("issuer: stored holder keys: %w", err)
	}
	proofs := make([]*provenKey, len(jwks))
	for i := range jwks {
		k, err := jwks[i].PublicKey()
		if err != nil {
			return nil, 0, fmt.Errorf("issuer: stored holder key: %w", err)
		}
		proofs[i] = &provenKey{Key: k}
	}
	resp, err := s.issue(ctx, a, t, o, proofs, offerPending, s.cfg.Now(), at.Key)
	if err != nil {
		return nil, 0, err
	}
	return resp, 200, nil
}

// Approve lets an officer approve a deferred issuance, by credential id.
func (s *Service) Approve(ctx context.Context, slug, actor, credentialID string) error {
	return s.st.writeTx(ctx, func(tx storeTx) error {
		ok, err := tx.approveOffer(ctx, credentialID, slug, actor)
		if err != nil {
			return err
		}
		if !ok {
			return errorf(CodeNotFound, "no offer awaiting approval for credential %q", credentialID)
		}
		return s.audit(ctx, tx, slug, actor, "credential.approve", credentialID, "")
	})
}

// Notification events (OpenID4VCI §11.1).
const (
	EventAccepted = vciwire.EventCredentialAccepted
	EventFailure  = vciwire.EventCredentialFailure
	EventDeleted  = vciwire.EventCredentialDeleted
)

// NotificationRequest is the notification endpoint's body (§11.1).
type NotificationRequest = vciwire.NotificationRequest

// Notify records a wallet's notification about an issued credential.
func (s *Service) Notify(ctx context.Context, slug, token, dpopKey string, req NotificationRequest) error {
	at, err := s.openAccessToken(slug, token, dpopKey)
	if err != nil {
		return err
	}
	switch req.Event {
	case EventAccepted, EventFailure, EventDeleted:
	default:
		return errorf(CodeInvalidNotificationRequest, "event must be credential_accepted, credential_failure or credential_deleted")
	}
	if len(req.EventDescription) > 1024 {
		return errorf(CodeInvalidNotificationRequest, "event_description is too long")
	}
	return s.st.groupTx(ctx, func(tx storeTx) error {
		credID, err := tx.credentialForNotification(ctx, req.NotificationID, at.Offer)
		if errors.Is(err, errNoRecord) {
			return errorf(CodeInvalidNotificationID, "notification_id is not this token's")
		}
		if err != nil {
			return err
		}
		if err := tx.setNotified(ctx, credID, req.Event); err != nil {
			return err
		}
		return s.audit(ctx, tx, slug, "wallet", "credential.notify", credID, req.Event)
	})
}
