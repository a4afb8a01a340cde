package issuer

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tongid/tong/internal/store"
)

// The issuer's storage. The domain files (issuer.go, offer.go,
// credential.go, status.go, ...) hold no SQL: they call the methods of the
// interfaces below, each named for what it does and taking and returning
// domain values. store_*.go implement them on internal/store (SQLite or
// PostgreSQL), with the prepared-statement cache of store_stmt.go.
//
// Transactions: writeTx and groupTx run a function with a storeTx, a view
// of the store scoped to one write transaction. On PostgreSQL that
// function MAY run more than once (a serialization failure rolls the
// transaction back and runs it again), so it MUST act on the database only
// through its storeTx and assign, not accumulate, what it hands out.

// errNoRecord is what a store read returns when there is no such row.
var errNoRecord = errors.New("issuer: no such record")

// errDuplicate is what a store insert returns when a unique key is taken.
var errDuplicate = errors.New("issuer: record exists")

// recorder is what both the store and a transaction can write.
type recorder interface {
	// insertAudit appends one audit line.
	insertAudit(ctx context.Context, e auditRecord) error
	// spend records a single-use value's hash until exp (Unix seconds).
	// It MUST report false, and write nothing, when the hash was
	// recorded before.
	spend(ctx context.Context, hash []byte, exp int64) (bool, error)
}

// agencyStore keeps agencies, their types, keys' certificates, profiles
// and staff API tokens, and the audit log.
type agencyStore interface {
	// insertAgency stores a new agency, or returns errDuplicate when its
	// slug or issuer URL is taken.
	insertAgency(ctx context.Context, a *Agency, at int64) error
	// agency reads an agency's row (without signer, X5C or Profile), or
	// returns errNoRecord.
	agency(ctx context.Context, slug string) (*Agency, error)
	agencySlugs(ctx context.Context) ([]string, error)
	// agencyX5C is the stored x5c JSON, or "" without one.
	agencyX5C(ctx context.Context, slug string) (string, error)
	putX5C(ctx context.Context, slug, x5cJSON string) error
	// agencyProfile is the stored profile, or "" without one.
	agencyProfile(ctx context.Context, slug string) (string, error)
	putProfile(ctx context.Context, slug, profile string) error
	// typeDefinitions are the agency's credential types, as stored JSON.
	typeDefinitions(ctx context.Context, slug string) ([]string, error)
	insertAPIToken(ctx context.Context, id, slug string, hash []byte, label string, at int64) error
	// revokeAPIToken reports false when no active token has id.
	revokeAPIToken(ctx context.Context, slug, id string, at int64) (bool, error)
	// apiToken finds a token by hash, or returns errNoRecord.
	apiToken(ctx context.Context, hash []byte) (id, agency string, revoked bool, err error)
	auditEntries(ctx context.Context, slug string, limit int) ([]AuditEntry, error)
}

// authzStore keeps the authorization code flow's requests (issuer_authz).
// Each phase change is a compare-and-swap: it reports false when the row
// was not in the phase it expects, so that request_uri and code are
// single-use across replicas.
type authzStore interface {
	insertAuthz(ctx context.Context, r *authzRecord) error
	// startAuthentication moves a pushed, unexpired request of
	// clientID to authenticating until `until`.
	startAuthentication(ctx context.Context, id, slug, clientID string, now, until int64) (bool, error)
	authzType(ctx context.Context, id string) (string, error)
	setAuthzSession(ctx context.Context, id, session, presentation string) error
	// authz reads a request of slug, or returns errNoRecord.
	authz(ctx context.Context, id, slug string) (*authzRecord, error)
	// failAuthz moves an authenticating request to failed.
	failAuthz(ctx context.Context, id string) error
	// offerForSubject finds the newest unexpired offered offer of the
	// type staged for the subject, or returns errNoRecord.
	offerForSubject(ctx context.Context, subjectMAC []byte, slug, typeID string, now int64) (string, error)
	// authorize binds an authenticating request to an offer and a code.
	authorize(ctx context.Context, id, offerID string, codeHash []byte, until int64) (bool, error)
}

// credentialStore reads offers, credentials and status lists.
type credentialStore interface {
	// offer reads an offer for the credential endpoint, or returns
	// errNoRecord.
	offer(ctx context.Context, id string) (*offerRow, error)
	// offerObject reads what the offer object needs, or returns
	// errNoRecord.
	offerObject(ctx context.Context, id, slug string) (typeID, state string, expires int64, err error)
	// credentialByOffer reads a credential with its sealed claims, or
	// returns errNoRecord.
	credentialByOffer(ctx context.Context, offerID, slug string) (*storedCredential, error)
	credentialInfo(ctx context.Context, id, slug string) (*CredentialInfo, error)
	credentials(ctx context.Context, slug string, limit int) ([]CredentialInfo, error)
	// statusList reads a list's shape and version, or returns errNoRecord.
	statusList(ctx context.Context, id, slug string) (size, bits, version int64, err error)
	// statusEntries are a list's entries whose status is not 0.
	statusEntries(ctx context.Context, listID string) ([]statusEntry, error)
	// reserveStatus takes room for n entries in the agency's current
	// status list before the transaction that places them (see
	// store_status.go); releaseStatus gives it back when that
	// transaction failed.
	reserveStatus(ctx context.Context, agency string, n int, size int64, now int64) (statusReservation, error)
	releaseStatus(ctx context.Context, r statusReservation) error
	// purgeExpired forgets single-use values expired by now, authorizations
	// expired before authzBefore, and the claims of offers that can no
	// longer be issued.
	purgeExpired(ctx context.Context, now, authzBefore, redeemedBefore int64) error
}

// issuerStore is the whole store, as the Service holds it.
type issuerStore interface {
	recorder
	agencyStore
	authzStore
	credentialStore
	// writeTx runs fn in one write transaction (store.DB.WriteTx).
	writeTx(ctx context.Context, fn func(tx storeTx) error) error
	// groupTx runs fn in a transaction it may share with concurrent
	// callers, in a savepoint of its own (store.DB.GroupTx); fn must be
	// short.
	groupTx(ctx context.Context, fn func(tx storeTx) error) error
}

// storeTx is the store inside one write transaction.
type storeTx interface {
	recorder
	// Types and vct ownership.
	otherAgencyURLs(ctx context.Context, slug string) ([]agencyURL, error)
	// claimVCT gives vct to slug unless it has an owner, and returns its
	// owner.
	claimVCT(ctx context.Context, vct, slug string, at int64) (owner string, err error)
	putType(ctx context.Context, slug, id, definition string, at int64) error
	allTypes(ctx context.Context) ([]storedType, error)

	// Offers. The bool results report whether the offer was in the
	// state the change expects (compare-and-swap).
	insertOffer(ctx context.Context, r *offerRecord) error
	offerForToken(ctx context.Context, id string) (*tokenOffer, error)
	setTxTries(ctx context.Context, id string, tries int64, state string) error
	redeemOffer(ctx context.Context, id string, at int64) (bool, error)
	deferOffer(ctx context.Context, id, transactionID, holderKeys string) (bool, error)
	markOfferIssued(ctx context.Context, id, from string) (bool, error)
	approveOffer(ctx context.Context, credentialID, slug, actor string) (bool, error)
	offerGrant(ctx context.Context, id string) (typeID, credentialID, state string, err error)

	// The authorization code grant.
	authzByCode(ctx context.Context, codeHash []byte) (*authzRecord, error)
	redeemAuthz(ctx context.Context, id string) (bool, error)

	// Credentials.
	saveCredential(ctx context.Context, c *storedCredential) error
	refreshState(ctx context.Context, offerID, slug string) (*storedCredential, error)
	refreshGen(ctx context.Context, credentialID string) (int64, error)
	rotateRefresh(ctx context.Context, credentialID string, from, to int64) (bool, error)
	revokeRefreshFamily(ctx context.Context, credentialID string) error
	addCopies(ctx context.Context, credentialID string, n int) error
	credentialForNotification(ctx context.Context, notificationID, offerID string) (string, error)
	setNotified(ctx context.Context, credentialID, event string) error
	credentialStatus(ctx context.Context, id, slug string) (string, error)
	// setCredentialStatus sets the credential's status, every one of its
	// entries' value, and bumps the version of their lists.
	setCredentialStatus(ctx context.Context, id, status string, value int64) error
	// allocateStatus places n entries of credentialID at random free
	// indexes, in the reserved list (or, with an empty reservation, in
	// the agency's current list, opening a new one when it is full).
	allocateStatus(ctx context.Context, r statusReservation, agency, credentialID string, n int, size int64, now int64) ([]statusSlot, error)
}

// Records the store takes and gives.
type (
	auditRecord struct {
		ID                                    string
		At                                    int64 // Unix nanoseconds
		Agency, Actor, Action, Object, Detail string
	}
	agencyURL  struct{ Slug, IssuerURL string }
	storedType struct {
		Agency, Definition string
		UpdatedAt          int64
	}
	offerRecord struct {
		ID, Agency, TypeID, CredentialID string
		CodeHash, TxCodeMAC              []byte
		Claims, CreatedBy                string
		CreatedAt, ExpiresAt             int64
		// SubjectMAC, when set, stages the offer for the
		// authorization code flow.
		SubjectMAC []byte
	}
	tokenOffer struct {
		Agency, TypeID, CredentialID, State string
		TxCodeMAC                           []byte
		Tries, ExpiresAt                    int64
	}
	authzRecord struct {
		ID, Agency, ClientID, RedirectURI, State, CodeChallenge, TypeID, DPoPJKT string
		Phase                                                                    string
		Session, Presentation, OfferID                                           *string
		CreatedAt, ExpiresAt                                                     int64
	}
	storedCredential struct {
		ID, Agency, TypeID, OfferID, Status, NotificationID string
		Copies                                              int
		IssuedAt, ExpiresAt, RefreshGen                     int64
		SealedClaims                                        []byte
	}
	statusEntry struct{ Index, Status int64 }
	statusSlot  struct {
		ListID string
		Index  int64
	}
	statusReservation struct {
		ListID string // "" when allocateStatus picks the list itself
		Size   int64
		N      int
	}
)

// sqlStore implements issuerStore, and storeTx when tx is set, on
// internal/store.
type sqlStore struct {
	db    *store.DB
	stmts *stmts
	tx    *sql.Tx
}

var (
	_ issuerStore = (*sqlStore)(nil)
	_ storeTx     = (*sqlStore)(nil)
)

func newSQLStore(db *store.DB) *sqlStore { return &sqlStore{db: db, stmts: &stmts{}} }

func (st *sqlStore) writeTx(ctx context.Context, fn func(tx storeTx) error) error {
	return st.db.WriteTx(ctx, func(tx *sql.Tx) error { return fn(&sqlStore{db: st.db, stmts: st.stmts, tx: tx}) })
}

func (st *sqlStore) groupTx(ctx context.Context, fn func(tx storeTx) error) error {
	return st.db.GroupTx(ctx, func(tx *sql.Tx) error { return fn(&sqlStore{db: st.db, stmts: st.stmts, tx: tx}) })
}

// exec runs a prepared write: in the transaction, or on the writer.
func (st *sqlStore) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	inTx := st.tx != nil
	s := st.stmts.get(ctx, st.db.Writer(), q, inTx)
	switch {
	case s == nil && inTx:
		return st.tx.ExecContext(ctx, q, args...)
	case s == nil:
		return st.db.Writer().ExecContext(ctx, q, args...)
	case inTx:
		return st.tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return s.ExecContext(ctx, args...)
}

// cas runs a prepared conditional write and reports whether it changed
// exactly one row.
func (st *sqlStore) cas(ctx context.Context, q string, args ...any) (bool, error) {
	res, err := st.exec(ctx, q, args...)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// row runs a prepared one-row query: in the transaction, or on the read
// pool.
func (st *sqlStore) row(ctx context.Context, q string, args ...any) *sql.Row {
	if st.tx != nil {
		s := st.stmts.get(ctx, st.db.Writer(), q, true)
		if s == nil {
			return st.tx.QueryRowContext(ctx, q, args...)
		}
		return st.tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	s := st.stmts.get(ctx, st.db.Reader(), q, false)
	if s == nil {
		return st.db.Reader().QueryRowContext(ctx, q, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// query runs a many-row query (unprepared): in the transaction, or on
// the read pool.
func (st *sqlStore) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st.tx != nil {
		return st.tx.QueryContext(ctx, q, args...)
	}
	return st.db.Reader().QueryContext(ctx, q, args...)
}

// noRecord turns sql.ErrNoRows into errNoRecord.
func noRecord(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return errNoRecord
	}
	return err
}

// nullable is a NULL column's value as a domain pointer.
func nullable(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

// scanAll reads every row of rows with scan.
func scanAll(rows *sql.Rows, err error, scan func(*sql.Rows) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (st *sqlStore) insertAudit(ctx context.Context, e auditRecord) error {
	_, err := st.exec(ctx, `INSERT INTO issuer_audit (id, at, agency, actor, action, object, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		e.ID, e.At, e.Agency, e.Actor, e.Action, e.Object, e.Detail)
	return err
}

func (st *sqlStore) spend(ctx context.Context, hash []byte, exp int64) (bool, error) {
	return st.cas(ctx, `INSERT INTO issuer_used_nonces (hash, expires_at) VALUES ($1, $2) ON CONFLICT (hash) DO NOTHING`, hash, exp)
}

// unixTime is a stored Unix time in seconds, as time.Time in UTC.
func unixTime(s int64) time.Time { return time.Unix(s, 0).UTC() }
