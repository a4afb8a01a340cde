-- The authorization code flow (OpenID4VCI 1.0 §5, RFC 9126 PAR, RFC 7636
-- PKCE). One row per pushed authorization request; its phase moves
-- pushed → authenticating → authorized → redeemed (or failed), each step
-- a conditional UPDATE, so that request_uri and code are single-use across
-- replicas. code_hash is SHA-256 of the authorization code.
CREATE TABLE IF NOT EXISTS issuer_authz (
	id             TEXT   PRIMARY KEY,
	agency         TEXT   NOT NULL REFERENCES issuer_agencies (slug),
	client_id      TEXT   NOT NULL,
	redirect_uri   TEXT   NOT NULL,
	state          TEXT   NOT NULL,
	code_challenge TEXT   NOT NULL,
	type_id        TEXT   NOT NULL,
	dpop_jkt       TEXT   NOT NULL,
	phase          TEXT   NOT NULL,
	session        TEXT,
	presentation   TEXT,
	offer_id       TEXT,
	code_hash      BLOB   UNIQUE,
	created_at     BIGINT NOT NULL,
	expires_at     BIGINT NOT NULL
);

-- An agency's assurance profile: "" (default) or "haip" (DPoP required
-- for PAR, token and credential requests).
CREATE TABLE IF NOT EXISTS issuer_agency_profile (
	agency  TEXT PRIMARY KEY REFERENCES issuer_agencies (slug),
	profile TEXT NOT NULL
);

-- An offer staged for the authorization code flow names its citizen by an
-- HMAC of the identifier their identity credential carries
-- (personal_administrative_number); the citizen proves it at the
-- authorization endpoint. A table of its own, so that issuer_offers keeps
-- its shape.
CREATE TABLE IF NOT EXISTS issuer_offer_subjects (
	offer_id    TEXT PRIMARY KEY REFERENCES issuer_offers (id),
	subject_mac BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS issuer_offer_subjects_mac ON issuer_offer_subjects (subject_mac);
