package issuer

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/credential/statuslist"
	"github.com/tongid/tong/internal/ids"
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

// allocateStatus takes n random free indexes in the agency's current list,
// opening a new list when the current one is half full.
func (s *Service) allocateStatus(ctx context.Context, tx *sql.Tx, a *Agency, credentialID string, n int) ([]credential.StatusRef, error) {
	var listID string
	var size, used int64
	err := s.txRow(ctx, tx, `SELECT id, size, used FROM issuer_status_lists WHERE agency = $1 AND used * $2 < size ORDER BY created_at DESC, id LIMIT 1`,
		a.Slug, listFillLimit).Scan(&listID, &size, &used)
	if errors.Is(err, sql.ErrNoRows) {
		listID = ids.Random(12)
		size = int64(s.cfg.StatusListSize)
		if _, err := s.exec(ctx, tx, `INSERT INTO issuer_status_lists (id, agency, bits, size, created_at) VALUES ($1, $2, $3, $4, $5)`,
			listID, a.Slug, statusBits, size, s.cfg.Now().UnixNano()); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	refs := make([]credential.StatusRef, 0, n)
	for tries := 0; len(refs) < n; tries++ {
		if tries == 64*n {
			return nil, errors.New("issuer: no free status index after many tries")
		}
		var b [8]byte
		_, _ = rand.Read(b[:])
		idx := int64(binary.BigEndian.Uint64(b[:]) % uint64(size))
		res, err := s.exec(ctx, tx, `INSERT INTO issuer_status_entries (list_id, idx, credential_id) VALUES ($1, $2, $3) ON CONFLICT (list_id, idx) DO NOTHING`,
			listID, idx, credentialID)
		if err != nil {
			return nil, err
		}
		if k, _ := res.RowsAffected(); k == 1 {
			refs = append(refs, credential.StatusRef{Index: int(idx), URI: a.IssuerURL + "/status/" + listID})
		}
	}
	if _, err := s.exec(ctx, tx, `UPDATE issuer_status_lists SET used = used + $1 WHERE id = $2`, n, listID); err != nil {
		return nil, err
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
	c := &CredentialInfo{ID: id}
	var issued, expires int64
	var notified sql.NullString
	err := s.readRow(ctx, `SELECT type_id, status, copies, issued_at, expires_at, notified FROM issuer_credentials WHERE id = $1 AND agency = $2`, id, slug).
		Scan(&c.Type, &c.Status, &c.Copies, &issued, &expires, &notified)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorf(CodeNotFound, "no issued credential %q at this agency", id)
	}
	if err != nil {
		return nil, err
	}
	c.IssuedAt, c.ExpiresAt, c.Notified = time.Unix(issued, 0).UTC(), time.Unix(expires, 0).UTC(), notified.String
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
	err := s.db.WriteTx(ctx, func(tx *sql.Tx) error {
		var cur string
		err := s.txRow(ctx, tx, `SELECT status FROM issuer_credentials WHERE id = $1 AND agency = $2`, credentialID, slug).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
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
		if _, err := s.exec(ctx, tx, `UPDATE issuer_credentials SET status = $1 WHERE id = $2`, status, credentialID); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE issuer_status_entries SET status = $1 WHERE credential_id = $2`, value, credentialID); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `UPDATE issuer_status_lists SET version = version + 1 WHERE id IN (SELECT list_id FROM issuer_status_entries WHERE credential_id = $1)`, credentialID); err != nil {
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
	var size, bits, version int64
	err = s.readRow(ctx, `SELECT size, bits, version FROM issuer_status_lists WHERE id = $1 AND agency = $2`, listID, slug).
		Scan(&size, &bits, &version)
	if errors.Is(err, sql.ErrNoRows) {
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
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT idx, status FROM issuer_status_entries WHERE list_id = $1 AND status <> 0`, listID)
	if err != nil {
		return "", err
	}
	for rows.Next() {
		var idx, st int64
		if err := rows.Scan(&idx, &st); err != nil {
			rows.Close()
			return "", err
		}
		if err := lst.Set(int(idx), byte(st)); err != nil {
			rows.Close()
			return "", err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
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
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT id, type_id, status, copies, issued_at, expires_at, notified FROM issuer_credentials
		WHERE agency = $1 ORDER BY issued_at DESC, id LIMIT $2`, slug, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []CredentialInfo{}
	for rows.Next() {
		var c CredentialInfo
		var issued, expires int64
		var notified sql.NullString
		if err := rows.Scan(&c.ID, &c.Type, &c.Status, &c.Copies, &issued, &expires, &notified); err != nil {
			return nil, err
		}
		c.IssuedAt, c.ExpiresAt, c.Notified = time.Unix(issued, 0).UTC(), time.Unix(expires, 0).UTC(), notified.String
		out = append(out, c)
	}
	return out, rows.Err()
}
