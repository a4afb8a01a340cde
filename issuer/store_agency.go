package issuer

import (
	"context"
	"database/sql"
	"time"

	"github.com/tongid/tong/internal/store"
)

// Agencies, types, vct owners, staff API tokens and the audit log.

func (st *sqlStore) insertAgency(ctx context.Context, a *Agency, at int64) error {
	_, err := st.exec(ctx, `INSERT INTO issuer_agencies (slug, name, issuer_url, did, key_name, key_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.Slug, a.Name, a.IssuerURL, a.DID, a.KeyName, a.KeyID, at)
	if store.IsUniqueViolation(err) {
		return errDuplicate
	}
	return err
}

func (st *sqlStore) agency(ctx context.Context, slug string) (*Agency, error) {
	a := &Agency{}
	err := st.row(ctx, `SELECT slug, name, issuer_url, did, key_name, key_id FROM issuer_agencies WHERE slug = $1`, slug).
		Scan(&a.Slug, &a.Name, &a.IssuerURL, &a.DID, &a.KeyName, &a.KeyID)
	if err != nil {
		return nil, noRecord(err)
	}
	return a, nil
}

func (st *sqlStore) agencySlugs(ctx context.Context) ([]string, error) {
	var slugs []string
	rows, err := st.query(ctx, `SELECT slug FROM issuer_agencies ORDER BY slug`)
	err = scanAll(rows, err, func(rows *sql.Rows) error {
		var slug string
		if err := rows.Scan(&slug); err != nil {
			return err
		}
		slugs = append(slugs, slug)
		return nil
	})
	return slugs, err
}

func (st *sqlStore) agencyX5C(ctx context.Context, slug string) (string, error) {
	var raw string
	err := noRecord(st.row(ctx, `SELECT x5c FROM issuer_agency_x5c WHERE agency = $1`, slug).Scan(&raw))
	if err == errNoRecord {
		return "", nil
	}
	return raw, err
}

func (st *sqlStore) putX5C(ctx context.Context, slug, x5cJSON string) error {
	_, err := st.exec(ctx, `INSERT INTO issuer_agency_x5c (agency, x5c) VALUES ($1, $2)
		ON CONFLICT (agency) DO UPDATE SET x5c = excluded.x5c`, slug, x5cJSON)
	return err
}

func (st *sqlStore) agencyProfile(ctx context.Context, slug string) (string, error) {
	var p string
	err := noRecord(st.row(ctx, `SELECT profile FROM issuer_agency_profile WHERE agency = $1`, slug).Scan(&p))
	if err == errNoRecord {
		return "", nil
	}
	return p, err
}

func (st *sqlStore) putProfile(ctx context.Context, slug, profile string) error {
	_, err := st.exec(ctx, `INSERT INTO issuer_agency_profile (agency, profile) VALUES ($1, $2)
		ON CONFLICT (agency) DO UPDATE SET profile = excluded.profile`, slug, profile)
	return err
}

func (st *sqlStore) typeDefinitions(ctx context.Context, slug string) ([]string, error) {
	var defs []string
	rows, err := st.query(ctx, `SELECT definition FROM issuer_types WHERE agency = $1`, slug)
	err = scanAll(rows, err, func(rows *sql.Rows) error {
		var def string
		if err := rows.Scan(&def); err != nil {
			return err
		}
		defs = append(defs, def)
		return nil
	})
	return defs, err
}

func (st *sqlStore) otherAgencyURLs(ctx context.Context, slug string) ([]agencyURL, error) {
	var out []agencyURL
	rows, err := st.query(ctx, `SELECT slug, issuer_url FROM issuer_agencies WHERE slug <> $1`, slug)
	err = scanAll(rows, err, func(rows *sql.Rows) error {
		var u agencyURL
		if err := rows.Scan(&u.Slug, &u.IssuerURL); err != nil {
			return err
		}
		out = append(out, u)
		return nil
	})
	return out, err
}

const insertVCTOwner = `INSERT INTO issuer_vct_owners (vct, agency, created_at) VALUES ($1, $2, $3) ON CONFLICT (vct) DO NOTHING`

func (st *sqlStore) claimVCT(ctx context.Context, vct, slug string, at int64) (string, error) {
	if _, err := st.exec(ctx, insertVCTOwner, vct, slug, at); err != nil {
		return "", err
	}
	var owner string
	err := st.row(ctx, `SELECT agency FROM issuer_vct_owners WHERE vct = $1`, vct).Scan(&owner)
	return owner, err
}

func (st *sqlStore) putType(ctx context.Context, slug, id, definition string, at int64) error {
	_, err := st.exec(ctx, `INSERT INTO issuer_types (agency, id, definition, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (agency, id) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at`,
		slug, id, definition, at)
	return err
}

func (st *sqlStore) allTypes(ctx context.Context) ([]storedType, error) {
	var out []storedType
	rows, err := st.query(ctx, `SELECT agency, definition, updated_at FROM issuer_types ORDER BY updated_at, agency, id`)
	err = scanAll(rows, err, func(rows *sql.Rows) error {
		var t storedType
		if err := rows.Scan(&t.Agency, &t.Definition, &t.UpdatedAt); err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	return out, err
}

func (st *sqlStore) insertAPIToken(ctx context.Context, id, slug string, hash []byte, label string, at int64) error {
	_, err := st.exec(ctx, `INSERT INTO issuer_api_tokens (id, agency, hash, label, created_at) VALUES ($1, $2, $3, $4, $5)`,
		id, slug, hash, label, at)
	return err
}

func (st *sqlStore) revokeAPIToken(ctx context.Context, slug, id string, at int64) (bool, error) {
	res, err := st.exec(ctx, `UPDATE issuer_api_tokens SET revoked_at = $1 WHERE id = $2 AND agency = $3 AND revoked_at IS NULL`, at, id, slug)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n != 0, nil
}

func (st *sqlStore) apiToken(ctx context.Context, hash []byte) (id, agency string, revoked bool, err error) {
	var at sql.NullInt64
	err = st.row(ctx, `SELECT id, agency, revoked_at FROM issuer_api_tokens WHERE hash = $1`, hash).Scan(&id, &agency, &at)
	if err != nil {
		return "", "", false, noRecord(err)
	}
	return id, agency, at.Valid, nil
}

func (st *sqlStore) auditEntries(ctx context.Context, slug string, limit int) ([]AuditEntry, error) {
	out := []AuditEntry{}
	rows, err := st.query(ctx, `SELECT id, at, actor, action, object, detail FROM issuer_audit
		WHERE agency = $1 ORDER BY id DESC LIMIT $2`, slug, limit)
	err = scanAll(rows, err, func(rows *sql.Rows) error {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Object, &e.Detail); err != nil {
			return err
		}
		e.At = time.Unix(0, at).UTC()
		out = append(out, e)
		return nil
	})
	return out, err
}
