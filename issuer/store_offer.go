package issuer

import (
	"context"
	"database/sql"
)

// Offers, the token endpoint's grants, the authorization code flow, and
// the purge.

func (st *sqlStore) insertOffer(ctx context.Context, r *offerRecord) error {
	_, err := st.exec(ctx, `INSERT INTO issuer_offers (id, agency, type_id, credential_id, code_hash, tx_code_mac, claims, state, created_by, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.ID, r.Agency, r.TypeID, r.CredentialID, r.CodeHash, r.TxCodeMAC, r.Claims, offerOffered, r.CreatedBy, r.CreatedAt, r.ExpiresAt)
	if err != nil {
		return err
	}
	if r.SubjectMAC != nil {
		_, err = st.exec(ctx, `INSERT INTO issuer_offer_subjects (offer_id, subject_mac) VALUES ($1, $2)`, r.ID, r.SubjectMAC)
	}
	return err
}

func (st *sqlStore) offer(ctx context.Context, id string) (*offerRow, error) {
	o := &offerRow{}
	var claims, txID, approvedBy, holderKeys sql.NullString
	err := st.row(ctx, `SELECT id, agency, type_id, credential_id, state, claims, transaction_id, approved_by, holder_keys
		FROM issuer_offers WHERE id = $1`, id).
		Scan(&o.ID, &o.Agency, &o.TypeID, &o.CredentialID, &o.State, &claims, &txID, &approvedBy, &holderKeys)
	if err != nil {
		return nil, noRecord(err)
	}
	o.Claims, o.TransactionID, o.ApprovedBy, o.HolderKeys = nullable(claims), nullable(txID), nullable(approvedBy), nullable(holderKeys)
	return o, nil
}

func (st *sqlStore) offerObject(ctx context.Context, id, slug string) (typeID, state string, expires int64, err error) {
	err = st.row(ctx, `SELECT type_id, state, expires_at FROM issuer_offers WHERE id = $1 AND agency = $2`, id, slug).
		Scan(&typeID, &state, &expires)
	return typeID, state, expires, noRecord(err)
}

func (st *sqlStore) offerForToken(ctx context.Context, id string) (*tokenOffer, error) {
	o := &tokenOffer{}
	err := st.row(ctx, `SELECT agency, type_id, credential_id, tx_code_mac, tx_tries, state, expires_at FROM issuer_offers WHERE id = $1`, id).
		Scan(&o.Agency, &o.TypeID, &o.CredentialID, &o.TxCodeMAC, &o.Tries, &o.State, &o.ExpiresAt)
	if err != nil {
		return nil, noRecord(err)
	}
	return o, nil
}

func (st *sqlStore) setTxTries(ctx context.Context, id string, tries int64, state string) error {
	_, err := st.exec(ctx, `UPDATE issuer_offers SET tx_tries = $1, state = $2 WHERE id = $3`, tries, state, id)
	return err
}

func (st *sqlStore) redeemOffer(ctx context.Context, id string, at int64) (bool, error) {
	return st.cas(ctx, `UPDATE issuer_offers SET state = $1, redeemed_at = $2 WHERE id = $3 AND state = $4`,
		offerRedeemed, at, id, offerOffered)
}

func (st *sqlStore) deferOffer(ctx context.Context, id, transactionID, holderKeys string) (bool, error) {
	return st.cas(ctx, `UPDATE issuer_offers SET state = $1, transaction_id = $2, holder_keys = $3 WHERE id = $4 AND state = $5`,
		offerPending, transactionID, holderKeys, id, offerRedeemed)
}

func (st *sqlStore) markOfferIssued(ctx context.Context, id, from string) (bool, error) {
	return st.cas(ctx, `UPDATE issuer_offers SET state = $1, claims = NULL WHERE id = $2 AND state = $3`, offerIssued, id, from)
}

func (st *sqlStore) approveOffer(ctx context.Context, credentialID, slug, actor string) (bool, error) {
	return st.cas(ctx, `UPDATE issuer_offers SET approved_by = $1 WHERE credential_id = $2 AND agency = $3 AND approved_by IS NULL AND state IN ($4, $5, $6)`,
		actor, credentialID, slug, offerOffered, offerRedeemed, offerPending)
}

func (st *sqlStore) offerGrant(ctx context.Context, id string) (typeID, credentialID, state string, err error) {
	err = st.row(ctx, `SELECT type_id, credential_id, state FROM issuer_offers WHERE id = $1`, id).Scan(&typeID, &credentialID, &state)
	return typeID, credentialID, state, err
}

func (st *sqlStore) insertAuthz(ctx context.Context, r *authzRecord) error {
	_, err := st.exec(ctx, `INSERT INTO issuer_authz (id, agency, client_id, redirect_uri, state, code_challenge, type_id, dpop_jkt, phase, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.ID, r.Agency, r.ClientID, r.RedirectURI, r.State, r.CodeChallenge, r.TypeID, r.DPoPJKT, phasePushed, r.CreatedAt, r.ExpiresAt)
	return err
}

func (st *sqlStore) startAuthentication(ctx context.Context, id, slug, clientID string, now, until int64) (bool, error) {
	return st.cas(ctx, `UPDATE issuer_authz SET phase = $1, expires_at = $2 WHERE id = $3 AND agency = $4 AND client_id = $5 AND phase = $6 AND expires_at > $7`,
		phaseAuthenticating, until, id, slug, clientID, phasePushed, now)
}

func (st *sqlStore) authzType(ctx context.Context, id string) (string, error) {
	var typeID string
	err := st.row(ctx, `SELECT type_id FROM issuer_authz WHERE id = $1`, id).Scan(&typeID)
	return typeID, err
}

func (st *sqlStore) setAuthzSession(ctx context.Context, id, session, presentation string) error {
	_, err := st.exec(ctx, `UPDATE issuer_authz SET session = $1, presentation = $2 WHERE id = $3`, session, presentation, id)
	return err
}

func (st *sqlStore) authz(ctx context.Context, id, slug string) (*authzRecord, error) {
	r := &authzRecord{ID: id, Agency: slug}
	var session, presentation sql.NullString
	err := st.row(ctx, `SELECT redirect_uri, state, type_id, phase, session, presentation, expires_at FROM issuer_authz WHERE id = $1 AND agency = $2`, id, slug).
		Scan(&r.RedirectURI, &r.State, &r.TypeID, &r.Phase, &session, &presentation, &r.ExpiresAt)
	if err != nil {
		return nil, noRecord(err)
	}
	r.Session, r.Presentation = nullable(session), nullable(presentation)
	return r, nil
}

func (st *sqlStore) failAuthz(ctx context.Context, id string) error {
	_, err := st.exec(ctx, `UPDATE issuer_authz SET phase = $1 WHERE id = $2 AND phase = $3`, phaseFailed, id, phaseAuthenticating)
	return err
}

func (st *sqlStore) offerForSubject(ctx context.Context, subjectMAC []byte, slug, typeID string, now int64) (string, error) {
	var offerID string
	err := st.row(ctx, `SELECT o.id FROM issuer_offer_subjects s JOIN issuer_offers o ON o.id = s.offer_id
		WHERE s.subject_mac = $1 AND o.agency = $2 AND o.type_id = $3 AND o.state = $4 AND o.expires_at > $5 ORDER BY o.created_at DESC LIMIT 1`,
		subjectMAC, slug, typeID, offerOffered, now).Scan(&offerID)
	return offerID, noRecord(err)
}

func (st *sqlStore) authorize(ctx context.Context, id, offerID string, codeHash []byte, until int64) (bool, error) {
	return st.cas(ctx, `UPDATE issuer_authz SET phase = $1, offer_id = $2, code_hash = $3, expires_at = $4 WHERE id = $5 AND phase = $6`,
		phaseAuthorized, offerID, codeHash, until, id, phaseAuthenticating)
}

func (st *sqlStore) authzByCode(ctx context.Context, codeHash []byte) (*authzRecord, error) {
	r := &authzRecord{}
	var offerID sql.NullString
	err := st.row(ctx, `SELECT id, agency, client_id, redirect_uri, code_challenge, dpop_jkt, phase, offer_id, expires_at FROM issuer_authz WHERE code_hash = $1`, codeHash).
		Scan(&r.ID, &r.Agency, &r.ClientID, &r.RedirectURI, &r.CodeChallenge, &r.DPoPJKT, &r.Phase, &offerID, &r.ExpiresAt)
	if err != nil {
		return nil, noRecord(err)
	}
	r.OfferID = nullable(offerID)
	return r, nil
}

func (st *sqlStore) redeemAuthz(ctx context.Context, id string) (bool, error) {
	return st.cas(ctx, `UPDATE issuer_authz SET phase = $1 WHERE id = $2 AND phase = $3`, phaseRedeemed, id, phaseAuthorized)
}

func (st *sqlStore) purgeExpired(ctx context.Context, now, authzBefore, redeemedBefore int64) error {
	if _, err := st.exec(ctx, `DELETE FROM issuer_used_nonces WHERE expires_at < $1`, now); err != nil {
		return err
	}
	if _, err := st.exec(ctx, `DELETE FROM issuer_authz WHERE expires_at < $1`, authzBefore); err != nil {
		return err
	}
	if _, err := st.exec(ctx, `UPDATE issuer_offers SET claims = NULL WHERE claims IS NOT NULL AND state IN ($1, $2) AND expires_at < $3`,
		offerOffered, offerLocked, now); err != nil {
		return err
	}
	_, err := st.exec(ctx, `UPDATE issuer_offers SET claims = NULL WHERE claims IS NOT NULL AND state = $1 AND redeemed_at < $2`,
		offerRedeemed, redeemedBefore)
	return err
}
