package issuer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/credential/statuslist"
)

// Credential statuses, as the staff API names them.
const (
	StatusValid     = "valid"
	StatusRevoked   = "revoked"
	StatusSuspended = "suspended"
)

// statusBits is the width of each entry: 0x00 valid, 0x01 invalid
// (revoked), 0x02 suspended (Token Status List §7.1).
const statusBits = 2

// A list takes new entries until it is half full, so random indexes stay
// cheap to find and every list keeps a large crowd.
const listFillLimit = 2

// withStatus runs fn in a group-commit transaction that will allocate n
// status entries for the agency: the room is reserved first (on
// PostgreSQL, in a short transaction of its own, so that concurrent
// issuances do not collide on the agency's current list; see
// store_status.go), and given back if the transaction fails.
func (s *Service) withStatus(ctx context.Context, agency string, n int, fn func(tx storeTx, r statusReservation) error) error {
	r, err := s.st.reserveStatus(ctx, agency, n, int64(s.cfg.StatusListSize), s.cfg.Now().UnixNano())
	if err != nil {
		return err
	}
	err = s.st.groupTx(ctx, func(tx storeTx) error { return fn(tx, r) })
	if err != nil {
		// Best effort: room not given back only makes the list fill a
		// little early.
		_ = s.st.releaseStatus(context.WithoutCancel(ctx), r)
	}
	return err
}

// allocateStatus takes n random free indexes in the reserved list (or the
// agency's current list, opening a new one when it is half full) for the
// copies of a credential.
func (s *Service) allocateStatus(ctx context.Context, tx storeTx, r statusReservation, a *Agency, credentialID string, n int) ([]credential.StatusRef, error) {
	slots, err := tx.allocateStatus(ctx, r, a.Slug, credentialID, n, int64(s.cfg.StatusListSize), s.cfg.Now().UnixNano())
	if err != nil {
		return nil, err
	}
	refs := make([]credential.StatusRef, len(slots))
	for i, sl := range slots {
		refs[i] = credential.StatusRef{Index: int(sl.Index), URI: a.IssuerURL + "/status/" + sl.ListID}
	}
	return refs, nil
}

// CredentialInfo is what the staff API shows of an issued credential: no
// claim values.
type CredentialInfo struct {
	ID        string    `json:"credential_id"`
	Type      string    `json:"type"`
	Status    string    `json:"status"`
	Copies    int       `json:"copies"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Notified  string    `json:"notified,omitempty"`
}

// CredentialInfo returns an issued credential's record.
func (s *Service) CredentialInfo(ctx context.Context, slug, id string) (*CredentialInfo, error) {
	c, err := s.st.credentialInfo(ctx, id, slug)
	if errors.Is(err, errNoRecord) {
		return nil, errorf(CodeNotFound, "no issued credential %q at this agency", id)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// SetStatus revokes, suspends or unsuspends every copy of an issued
// credential. Revocation is final.
func (s *Service) SetStatus(ctx context.Context, slug, actor, credentialID, status string) (*CredentialInfo, error) {
	var value int64
	switch status {
	case StatusValid:
		value = int64(statuslist.Valid)
	case StatusRevoked:
		value = int64(statuslist.Invalid)
	case StatusSuspended:
		value = int64(statuslist.Suspended)
	default:
		return nil, errorf(CodeInvalidRequest, "status must be valid, revoked or suspended")
	}
	err := s.st.writeTx(ctx, func(tx storeTx) error {
		cur, err := tx.credentialStatus(ctx, credentialID, slug)
		if errors.Is(err, errNoRecord) {
			return errorf(CodeNotFound, "no issued credential %q at this agency", credentialID)
		}
		if err != nil {
			return err
		}
		if cur == StatusRevoked && status != StatusRevoked {
			return errorf(CodeConflict, "credential %s is revoked; revocation is final", credentialID)
		}
		if cur == status {
			return nil
		}
		if err := tx.setCredentialStatus(ctx, credentialID, status, value); err != nil {
			return err
		}
		action := map[string]string{StatusValid: "credential.unsuspend", StatusRevoked: "credential.revoke", StatusSuspended: "credential.suspend"}[status]
		return s.audit(ctx, tx, slug, actor, action, credentialID, "")
	})
	if err != nil {
		return nil, err
	}
	return s.CredentialInfo(ctx, slug, credentialID)
}

type cachedList struct {
	version int64
	token   string
	expires time.Time
}

// StatusListToken returns the signed statuslist+jwt for one of an
// agency's lists. Tokens are cached until the list changes or half their
// ttl has passed.
func (s *Service) StatusListToken(ctx context.Context, slug, listID string) (string, error) {
	a, err := s.Agency(ctx, slug)
	if err != nil {
		return "", err
	}
	size, bits, version, err := s.st.statusList(ctx, listID, slug)
	if errors.Is(err, errNoRecord) {
		return "", errorf(CodeNotFound, "no status list %q", listID)
	}
	if err != nil {
		return "", err
	}
	now := s.cfg.Now()
	key := slug + "/" + listID
	s.mu.Lock()
	c, ok := s.lists[key]
	s.mu.Unlock()
	if ok && c.version == version && now.Before(c.expires) {
		return c.token, nil
	}
	lst, err := statuslist.New(int(bits), int(size))
	if err != nil {
		return "", err
	}
	entries, err := s.st.statusEntries(ctx, listID)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if err := lst.Set(int(e.Index), byte(e.Status)); err != nil {
			return "", err
		}
	}
	ttl := s.cfg.StatusTTL
	tok, err := statuslist.SignToken(a.signer, a.KeyID, statuslist.Token{
		Subject: a.IssuerURL + "/status/" + listID, IssuedAt: now, Expiry: now.Add(24 * time.Hour), TTL: ttl, List: lst, X5C: a.X5C,
	})
	if err != nil {
		return "", fmt.Errorf("issuer: sign status list: %w", err)
	}
	s.mu.Lock()
	s.lists[key] = &cachedList{version: version, token: tok, expires: now.Add(ttl / 2)}
	s.mu.Unlock()
	return tok, nil
}

// Credentials lists an agency's issued credentials, newest first.
func (s *Service) Credentials(ctx context.Context, slug string, limit int) ([]CredentialInfo, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return s.st.credentials(ctx, slug, limit)
}
