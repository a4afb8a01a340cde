package verifier

// This file is the verifier's SQL: every statement on the verifier_*
// tables, and the only code in the package that uses database/sql. The
// rest of the package reaches it through orgStore and sessionStore, with
// domain values; encodings (JSON columns, Unix seconds) stay here.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/tongid/tong/internal/store"
)

// errNoRow is a store's answer for a row that does not exist (or, for
// tokenCounter, is revoked); callers turn it into their own error.
var errNoRow = errors.New("verifier: no such row")

// errDuplicate is a store's answer for an insert whose key is taken.
var errDuplicate = errors.New("verifier: already exists")

// orgStore keeps the organisations, their counters and counter API
// tokens, and the purposes.
type orgStore interface {
	// addOrg inserts o; errDuplicate if its slug is taken.
	addOrg(ctx context.Context, o *Org, at time.Time) error
	// org reads an organisation (without its signer); errNoRow if there
	// is none.
	org(ctx context.Context, slug string) (*Org, error)
	// setCertificate replaces an organisation's x5c.
	setCertificate(ctx context.Context, slug string, x5c []string) error
	// addCounter inserts c.
	addCounter(ctx context.Context, c *Counter, at time.Time) error
	// counterOrg returns a counter's organisation slug; errNoRow if there
	// is no such counter.
	counterOrg(ctx context.Context, counter string) (string, error)
	// addToken stores the SHA-256 hash of a new API token of counter.
	addToken(ctx context.Context, id, counter string, hash []byte, at time.Time) error
	// revokeTokens revokes every live token of counter.
	revokeTokens(ctx context.Context, counter string, at time.Time) error
	// tokenCounter returns the counter a token hash belongs to; errNoRow
	// if the hash is unknown or revoked.
	tokenCounter(ctx context.Context, hash []byte) (*Counter, error)
	// purposeDefinitions returns every stored purpose's definition.
	purposeDefinitions(ctx context.Context) ([][]byte, error)
	// putPurpose creates or replaces purpose id's definition.
	putPurpose(ctx context.Context, id string, definition []byte, at time.Time) error
}

// sessionStore keeps the verification sessions. A session leaves pending
// exactly once: completeSession MUST report true to one caller only,
// however many call it at once, from however many replicas.
type sessionStore interface {
	// createSession inserts a pending session with its signed request
	// object; a session's nonce is unique (errDuplicate).
	createSession(ctx context.Context, r *sessionRow, request string, created time.Time) error
	// responseSession reads what the response path needs of a session;
	// errNoRow if there is none.
	responseSession(ctx context.Context, id string) (*sessionRow, error)
	// completeSession records res for a pending session, erasing its
	// request object and response key, and reports whether it did; false
	// means the session was not pending (answered, or purged).
	completeSession(ctx context.Context, id string, res *Result, at time.Time) (bool, error)
	// requestObject returns a session's signed request object ("" once
	// answered), its status and expiry; errNoRow if there is none.
	requestObject(ctx context.Context, id string) (request, status string, expires time.Time, err error)
	// session reads a session as the counter sees it (Status as stored,
	// no RequestURI); errNoRow if there is none.
	session(ctx context.Context, id string) (*Session, error)
	// counterSessions lists the ids of a counter's newest sessions,
	// newest first.
	counterSessions(ctx context.Context, counter string, limit int) ([]string, error)
	// purgeExpired deletes the pending sessions that expired before
	// before, and returns how many.
	purgeExpired(ctx context.Context, before time.Time) (int64, error)
}

// sqlStore implements orgStore and sessionStore on a store.DB, on either
// engine.
type sqlStore struct {
	db *store.DB
	// Prepared once: the response path's two statements (SQLite's parser
	// was a sixth of the path's CPU).
	stmtSelect   *sql.Stmt
	stmtComplete *sql.Stmt
}

var (
	_ orgStore     = (*sqlStore)(nil)
	_ sessionStore = (*sqlStore)(nil)
)

const (
	sqlSelectSession   = `SELECT id, counter, purpose, nonce, state, transaction_data, response_code, status, expires_at, client_id, response_mode, response_key FROM verifier_sessions WHERE id = $1`
	sqlCompleteSession = `UPDATE verifier_sessions SET status = $1, result = $2, completed_at = $3, request = '', response_key = '' WHERE id = $4 AND status = $5`
)

// openStore applies the verifier's migrations to db and prepares the
// response path's statements.
func openStore(ctx context.Context, db *store.DB) (*sqlStore, error) {
	sub, _ := fs.Sub(migrations, "migrations")
	if _, err := db.Migrate(ctx, Component, sub); err != nil {
		return nil, err
	}
	st := &sqlStore{db: db}
	var err error
	if st.stmtSelect, err = db.Reader().PrepareContext(ctx, sqlSelectSession); err != nil {
		return nil, err
	}
	if st.stmtComplete, err = db.Writer().PrepareContext(ctx, sqlCompleteSession); err != nil {
		return nil, err
	}
	return st, nil
}

func noRow(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return errNoRow
	}
	return err
}

func (st *sqlStore) addOrg(ctx context.Context, o *Org, at time.Time) error {
	_, err := st.db.Writer().ExecContext(ctx, `INSERT INTO verifier_orgs (slug, name, did, key_name, key_id, webhook, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		o.Slug, o.Name, o.DID, o.KeyName, o.KeyID, o.Webhook, at.Unix())
	if err != nil && store.IsUniqueViolation(err) {
		return fmt.Errorf("%w: %w", errDuplicate, err)
	}
	return err
}

func (st *sqlStore) org(ctx context.Context, slug string) (*Org, error) {
	o := &Org{}
	var x5c string
	err := st.db.Reader().QueryRowContext(ctx, `SELECT slug, name, did, key_name, key_id, webhook, x5c FROM verifier_orgs WHERE slug = $1`, slug).
		Scan(&o.Slug, &o.Name, &o.DID, &o.KeyName, &o.KeyID, &o.Webhook, &x5c)
	if err != nil {
		return nil, noRow(err)
	}
	if x5c != "" {
		if err := json.Unmarshal([]byte(x5c), &o.X5C); err != nil {
			return nil, fmt.Errorf("verifier: %s's x5c: %w", slug, err)
		}
	}
	return o, nil
}

func (st *sqlStore) setCertificate(ctx context.Context, slug string, x5c []string) error {
	b, _ := json.Marshal(x5c)
	_, err := st.db.Writer().ExecContext(ctx, `UPDATE verifier_orgs SET x5c = $1 WHERE slug = $2`, string(b), slug)
	return err
}

func (st *sqlStore) addCounter(ctx context.Context, c *Counter, at time.Time) error {
	pj, _ := json.Marshal(c.Purposes)
	_, err := st.db.Writer().ExecContext(ctx, `INSERT INTO verifier_counters (id, org, name, purposes, created_at) VALUES ($1, $2, $3, $4, $5)`,
		c.ID, c.Org, c.Name, string(pj), at.Unix())
	return err
}

func (st *sqlStore) counterOrg(ctx context.Context, counter string) (string, error) {
	var org string
	err := st.db.Reader().QueryRowContext(ctx, `SELECT org FROM verifier_counters WHERE id = $1`, counter).Scan(&org)
	return org, noRow(err)
}

func (st *sqlStore) addToken(ctx context.Context, id, counter string, hash []byte, at time.Time) error {
	_, err := st.db.Writer().ExecContext(ctx, `INSERT INTO verifier_tokens (id, counter, hash, created_at) VALUES ($1, $2, $3, $4)`,
		id, counter, hash, at.Unix())
	return err
}

func (st *sqlStore) revokeTokens(ctx context.Context, counter string, at time.Time) error {
	_, err := st.db.Writer().ExecContext(ctx, `UPDATE verifier_tokens SET revoked_at = $1 WHERE counter = $2 AND revoked_at IS NULL`, at.Unix(), counter)
	return err
}

func (st *sqlStore) tokenCounter(ctx context.Context, hash []byte) (*Counter, error) {
	c := &Counter{}
	var pj string
	var revoked sql.NullInt64
	err := st.db.Reader().QueryRowContext(ctx, `SELECT c.id, c.org, c.name, c.purposes, t.revoked_at FROM verifier_tokens t JOIN verifier_counters c ON c.id = t.counter WHERE t.hash = $1`, hash).
		Scan(&c.ID, &c.Org, &c.Name, &pj, &revoked)
	if err == nil && revoked.Valid {
		return nil, errNoRow
	}
	if err != nil {
		return nil, noRow(err)
	}
	_ = json.Unmarshal([]byte(pj), &c.Purposes)
	return c, nil
}

func (st *sqlStore) purposeDefinitions(ctx context.Context) ([][]byte, error) {
	rows, err := st.db.Reader().QueryContext(ctx, `SELECT definition FROM verifier_purposes`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var defs [][]byte
	for rows.Next() {
		var def string
		if err := rows.Scan(&def); err != nil {
			return nil, err
		}
		defs = append(defs, []byte(def))
	}
	return defs, rows.Err()
}

func (st *sqlStore) putPurpose(ctx context.Context, id string, definition []byte, at time.Time) error {
	_, err := st.db.Writer().ExecContext(ctx, `INSERT INTO verifier_purposes (id, definition, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at`, id, string(definition), at.Unix())
	return err
}

func (st *sqlStore) createSession(ctx context.Context, r *sessionRow, request string, created time.Time) error {
	err := st.db.GroupTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO verifier_sessions (id, counter, purpose, nonce, state, request, transaction_data, status, response_code, created_at, expires_at, client_id, response_mode, response_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			r.id, r.counter, r.purpose, r.nonce, r.state, request, r.txData, r.status, r.sameDevice, created.Unix(), r.expires, r.clientID, r.responseMode, r.responseKey)
		return err
	})
	if err != nil && store.IsUniqueViolation(err) {
		return fmt.Errorf("%w: %w", errDuplicate, err)
	}
	return err
}

func (st *sqlStore) responseSession(ctx context.Context, id string) (*sessionRow, error) {
	r := &sessionRow{}
	err := st.stmtSelect.QueryRowContext(ctx, id).
		Scan(&r.id, &r.counter, &r.purpose, &r.nonce, &r.state, &r.txData, &r.sameDevice, &r.status, &r.expires,
			&r.clientID, &r.responseMode, &r.responseKey)
	if err != nil {
		return nil, noRow(err)
	}
	return r, nil
}

func (st *sqlStore) completeSession(ctx context.Context, id string, res *Result, at time.Time) (bool, error) {
	resJSON, _ := json.Marshal(res)
	var done bool
	err := st.db.GroupTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.StmtContext(ctx, st.stmtComplete).ExecContext(ctx, res.Verdict, string(resJSON), at.Unix(), id, StatusPending)
		if err != nil {
			return err
		}
		n, _ := r.RowsAffected()
		done = n == 1
		return nil
	})
	return done, err
}

func (st *sqlStore) requestObject(ctx context.Context, id string) (string, string, time.Time, error) {
	var req, status string
	var exp int64
	err := st.db.Reader().QueryRowContext(ctx, `SELECT request, status, expires_at FROM verifier_sessions WHERE id = $1`, id).Scan(&req, &status, &exp)
	if err != nil {
		return "", "", time.Time{}, noRow(err)
	}
	return req, status, time.Unix(exp, 0), nil
}

func (st *sqlStore) session(ctx context.Context, id string) (*Session, error) {
	sess := &Session{ID: id}
	var created, expires int64
	var result string
	err := st.db.Reader().QueryRowContext(ctx, `SELECT counter, purpose, status, result, created_at, expires_at, client_id, response_mode FROM verifier_sessions WHERE id = $1`, id).
		Scan(&sess.Counter, &sess.Purpose, &sess.Status, &result, &created, &expires, &sess.ClientID, &sess.ResponseMode)
	if err != nil {
		return nil, noRow(err)
	}
	sess.CreatedAt, sess.ExpiresAt = time.Unix(created, 0).UTC(), time.Unix(expires, 0).UTC()
	if result != "" {
		sess.Result = &Result{}
		if err := json.Unmarshal([]byte(result), sess.Result); err != nil {
			return nil, err
		}
	}
	return sess, nil
}

func (st *sqlStore) counterSessions(ctx context.Context, counter string, limit int) ([]string, error) {
	return store.Strings(ctx, st.db.Reader(), `SELECT id FROM verifier_sessions WHERE counter = $1 ORDER BY created_at DESC, id LIMIT $2`, counter, limit)
}

func (st *sqlStore) purgeExpired(ctx context.Context, before time.Time) (int64, error) {
	res, err := st.db.Writer().ExecContext(ctx, `DELETE FROM verifier_sessions WHERE status = $1 AND expires_at < $2`,
		StatusPending, before.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
