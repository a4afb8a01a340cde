package issuer

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"

	"github.com/tongid/tong/internal/ids"
	"github.com/tongid/tong/internal/store"
)

// Issued credentials and their status lists.
//
// # Status index allocation
//
// Each agency has a current status list (issuer_status_lists) that takes
// new entries until used*listFillLimit reaches its size; each copy of a
// credential gets a random free index in it (issuer_status_entries, whose
// primary key keeps indexes unique).
//
// On SQLite there is one writer, so allocateStatus does everything inside
// the issuance transaction: pick the current list, insert the entries,
// bump used.
//
// On PostgreSQL the issuance transactions are SERIALIZABLE and run in
// parallel, so if each one read and updated the agency's current list row
// they would all collide there and all but one would be retried (issue
// 19). Instead reserveStatus takes the room first with one UPDATE ...
// RETURNING in a short READ COMMITTED transaction of its own: concurrent
// callers queue on the row's lock for the length of that one statement,
// and none fails. The issuance transaction then only inserts its entries
// into the reserved list, which reads no row another issuance writes.
// Room reserved for a transaction that then fails is given back by
// releaseStatus; if even that fails, a list fills a little early, which
// costs nothing (no index is taken, so none is ever referenced).

func (st *sqlStore) saveCredential(ctx context.Context, c *storedCredential) error {
	_, err := st.exec(ctx, `INSERT INTO issuer_credentials (id, agency, type_id, offer_id, status, copies, issued_at, expires_at, notification_id, sealed_claims)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.ID, c.Agency, c.TypeID, c.OfferID, c.Status, c.Copies, c.IssuedAt, c.ExpiresAt, c.NotificationID, c.SealedClaims)
	return err
}

func (st *sqlStore) credentialByOffer(ctx context.Context, offerID, slug string) (*storedCredential, error) {
	c := &storedCredential{OfferID: offerID, Agency: slug}
	err := st.row(ctx, `SELECT id, type_id, status, expires_at, sealed_claims FROM issuer_credentials WHERE offer_id = $1 AND agency = $2`, offerID, slug).
		Scan(&c.ID, &c.TypeID, &c.Status, &c.ExpiresAt, &c.SealedClaims)
	if err != nil {
		return nil, noRecord(err)
	}
	return c, nil
}

func (st *sqlStore) refreshState(ctx context.Context, offerID, slug string) (*storedCredential, error) {
	c := &storedCredential{OfferID: offerID, Agency: slug}
	err := st.row(ctx, `SELECT id, type_id, status, expires_at, refresh_gen FROM issuer_credentials WHERE offer_id = $1 AND agency = $2`, offerID, slug).
		Scan(&c.ID, &c.TypeID, &c.Status, &c.ExpiresAt, &c.RefreshGen)
	if err != nil {
		return nil, noRecord(err)
	}
	return c, nil
}

func (st *sqlStore) refreshGen(ctx context.Context, credentialID string) (int64, error) {
	var gen int64
	err := st.row(ctx, `SELECT refresh_gen FROM issuer_credentials WHERE id = $1`, credentialID).Scan(&gen)
	return gen, err
}

func (st *sqlStore) rotateRefresh(ctx context.Context, credentialID string, from, to int64) (bool, error) {
	return st.cas(ctx, `UPDATE issuer_credentials SET refresh_gen = $1 WHERE id = $2 AND refresh_gen = $3`, to, credentialID, from)
}

func (st *sqlStore) revokeRefreshFamily(ctx context.Context, credentialID string) error {
	_, err := st.exec(ctx, `UPDATE issuer_credentials SET refresh_gen = $1 WHERE id = $2`, familyRevoked, credentialID)
	return err
}

func (st *sqlStore) addCopies(ctx context.Context, credentialID string, n int) error {
	_, err := st.exec(ctx, `UPDATE issuer_credentials SET copies = copies + $1 WHERE id = $2`, n, credentialID)
	return err
}

func (st *sqlStore) credentialForNotification(ctx context.Context, notificationID, offerID string) (string, error) {
	var id string
	err := st.row(ctx, `SELECT id FROM issuer_credentials WHERE notification_id = $1 AND offer_id = $2`, notificationID, offerID).Scan(&id)
	return id, noRecord(err)
}

func (st *sqlStore) setNotified(ctx context.Context, credentialID, event string) error {
	_, err := st.exec(ctx, `UPDATE issuer_credentials SET notified = $1 WHERE id = $2`, event, credentialID)
	return err
}

func (st *sqlStore) credentialStatus(ctx context.Context, id, slug string) (string, error) {
	var status string
	err := st.row(ctx, `SELECT status FROM issuer_credentials WHERE id = $1 AND agency = $2`, id, slug).Scan(&status)
	return status, noRecord(err)
}

func (st *sqlStore) setCredentialStatus(ctx context.Context, id, status string, value int64) error {
	if _, err := st.exec(ctx, `UPDATE issuer_credentials SET status = $1 WHERE id = $2`, status, id); err != nil {
		return err
	}
	if _, err := st.exec(ctx, `UPDATE issuer_status_entries SET status = $1 WHERE credential_id = $2`, value, id); err != nil {
		return err
	}
	_, err := st.exec(ctx, `UPDATE issuer_status_lists SET version = version + 1 WHERE id IN (SELECT list_id FROM issuer_status_entries WHERE credential_id = $1)`, id)
	return err
}

func scanInfo(scan func(...any) error, c *CredentialInfo, withID bool) error {
	var issued, expires int64
	var notified sql.NullString
	dst := []any{&c.Type, &c.Status, &c.Copies, &issued, &expires, &notified}
	if withID {
		dst = append([]any{&c.ID}, dst...)
	}
	if err := scan(dst...); err != nil {
		return err
	}
	c.IssuedAt, c.ExpiresAt, c.Notified = unixTime(issued), unixTime(expires), notified.String
	return nil
}

func (st *sqlStore) credentialInfo(ctx context.Context, id, slug string) (*CredentialInfo, error) {
	c := &CredentialInfo{ID: id}
	err := scanInfo(st.row(ctx, `SELECT type_id, status, copies, issued_at, expires_at, notified FROM issuer_credentials WHERE id = $1 AND agency = $2`, id, slug).Scan, c, false)
	if err != nil {
		return nil, noRecord(err)
	}
	return c, nil
}

func (st *sqlStore) credentials(ctx context.Context, slug string, limit int) ([]CredentialInfo, error) {
	out := []CredentialInfo{}
	rows, err := st.query(ctx, `SELECT id, type_id, status, copies, issued_at, expires_at, notified FROM issuer_credentials
		WHERE agency = $1 ORDER BY issued_at DESC, id LIMIT $2`, slug, limit)
	err = scanAll(rows, err, func(rows *sql.Rows) error {
		var c CredentialInfo
		if err := scanInfo(rows.Scan, &c, true); err != nil {
			return err
		}
		out = append(out, c)
		return nil
	})
	return out, err
}

func (st *sqlStore) statusList(ctx context.Context, id, slug string) (size, bits, version int64, err error) {
	err = st.row(ctx, `SELECT size, bits, version FROM issuer_status_lists WHERE id = $1 AND agency = $2`, id, slug).
		Scan(&size, &bits, &version)
	return size, bits, version, noRecord(err)
}

func (st *sqlStore) statusEntries(ctx context.Context, listID string) ([]statusEntry, error) {
	var out []statusEntry
	rows, err := st.query(ctx, `SELECT idx, status FROM issuer_status_entries WHERE list_id = $1 AND status <> 0`, listID)
	err = scanAll(rows, err, func(rows *sql.Rows) error {
		var e statusEntry
		if err := rows.Scan(&e.Index, &e.Status); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// The status list queries.
const (
	currentList = `SELECT id, size FROM issuer_status_lists WHERE agency = $1 AND used * $2 < size ORDER BY created_at DESC, id LIMIT 1`
	// reserveList re-checks the room on the row it locked: under READ
	// COMMITTED an UPDATE that waited for the row's lock evaluates its
	// WHERE again on the newest version (the subquery's pick is not
	// re-evaluated, so the pick is re-checked here).
	reserveList = `UPDATE issuer_status_lists SET used = used + $2
		WHERE id = (SELECT id FROM issuer_status_lists WHERE agency = $1 AND used * $3 < size ORDER BY created_at DESC, id LIMIT 1)
		AND used * $3 < size RETURNING id, size`
	insertList = `INSERT INTO issuer_status_lists (id, agency, bits, size, used, created_at) VALUES ($1, $2, $3, $4, $5, $6)`
)

func (st *sqlStore) reserveStatus(ctx context.Context, agency string, n int, size int64, now int64) (statusReservation, error) {
	if st.db.Engine() != store.PostgreSQL {
		return statusReservation{N: n}, nil // allocateStatus does it all
	}
	r := statusReservation{N: n}
	err := st.db.ReadCommittedTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, reserveList, agency, n, listFillLimit).Scan(&r.ListID, &r.Size)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		// No list has room: open one. The agency's row lock keeps two
		// callers from opening one each; FOR NO KEY UPDATE does not wait
		// for the issuance transactions that reference the agency.
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM issuer_agencies WHERE slug = $1 FOR NO KEY UPDATE`, agency).Scan(&one); err != nil {
			return err
		}
		// Whoever held the lock before us may have opened one.
		err = tx.QueryRowContext(ctx, reserveList, agency, n, listFillLimit).Scan(&r.ListID, &r.Size)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		r.ListID, r.Size = ids.Random(12), size
		_, err = tx.ExecContext(ctx, insertList, r.ListID, agency, statusBits, size, n, now)
		return err
	})
	if err != nil {
		return statusReservation{}, err
	}
	return r, nil
}

func (st *sqlStore) releaseStatus(ctx context.Context, r statusReservation) error {
	if r.ListID == "" {
		return nil
	}
	return st.db.ReadCommittedTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE issuer_status_lists SET used = used - $1 WHERE id = $2`, r.N, r.ListID)
		return err
	})
}

func (st *sqlStore) allocateStatus(ctx context.Context, r statusReservation, agency, credentialID string, n int, size int64, now int64) ([]statusSlot, error) {
	listID, reserved := r.ListID, r.ListID != ""
	if reserved {
		if n > r.N {
			return nil, errors.New("issuer: more status entries than reserved")
		}
		size = r.Size
	} else {
		err := st.row(ctx, currentList, agency, listFillLimit).Scan(&listID, &size)
		if errors.Is(err, sql.ErrNoRows) {
			listID = ids.Random(12)
			if _, err := st.exec(ctx, insertList, listID, agency, statusBits, size, 0, now); err != nil {
				return nil, err
			}
		} else if err != nil {
			return nil, err
		}
	}
	slots := make([]statusSlot, 0, n)
	for tries := 0; len(slots) < n; tries++ {
		if tries == 64*n {
			return nil, errors.New("issuer: no free status index after many tries")
		}
		var b [8]byte
		_, _ = rand.Read(b[:])
		idx := int64(binary.BigEndian.Uint64(b[:]) % uint64(size))
		ok, err := st.cas(ctx, `INSERT INTO issuer_status_entries (list_id, idx, credential_id) VALUES ($1, $2, $3) ON CONFLICT (list_id, idx) DO NOTHING`,
			listID, idx, credentialID)
		if err != nil {
			return nil, err
		}
		if ok {
			slots = append(slots, statusSlot{ListID: listID, Index: idx})
		}
	}
	if !reserved {
		if _, err := st.exec(ctx, `UPDATE issuer_status_lists SET used = used + $1 WHERE id = $2`, n, listID); err != nil {
			return nil, err
		}
	}
	return slots, nil
}
