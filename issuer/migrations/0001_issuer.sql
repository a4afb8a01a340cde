-- Agencies this server issues for. key_name names the signing key in the
-- key store; the same key sits in the agency's did:tong document.
CREATE TABLE issuer_agencies (
	slug       TEXT   PRIMARY KEY,
	name       TEXT   NOT NULL,
	issuer_url TEXT   NOT NULL UNIQUE,
	did        TEXT   NOT NULL,
	key_name   TEXT   NOT NULL,
	key_id     TEXT   NOT NULL,
	created_at BIGINT NOT NULL
);

-- Staff API tokens, stored as SHA-256 hashes, scoped to one agency.
CREATE TABLE issuer_api_tokens (
	id         TEXT   PRIMARY KEY,
	agency     TEXT   NOT NULL REFERENCES issuer_agencies (slug),
	hash       BLOB   NOT NULL UNIQUE,
	label      TEXT   NOT NULL,
	created_at BIGINT NOT NULL,
	revoked_at BIGINT
);

-- Credential types (JSON definitions), per agency.
CREATE TABLE issuer_types (
	agency     TEXT   NOT NULL REFERENCES issuer_agencies (slug),
	id         TEXT   NOT NULL,
	definition TEXT   NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (agency, id)
);

-- Offers. code_hash is SHA-256 of the pre-authorized code; tx_code_mac is
-- an HMAC of the PIN under the server secret. claims holds the citizen's
-- data only until the credential is issued or the offer ends; it is then
-- set to NULL.
CREATE TABLE issuer_offers (
	id            TEXT   PRIMARY KEY,
	agency        TEXT   NOT NULL REFERENCES issuer_agencies (slug),
	type_id       TEXT   NOT NULL,
	credential_id TEXT   NOT NULL UNIQUE,
	code_hash     BLOB   NOT NULL UNIQUE,
	tx_code_mac   BLOB   NOT NULL,
	tx_tries      BIGINT NOT NULL DEFAULT 0,
	claims        TEXT,
	state         TEXT   NOT NULL,
	created_by    TEXT   NOT NULL,
	created_at    BIGINT NOT NULL,
	expires_at    BIGINT NOT NULL,
	redeemed_at   BIGINT,
	approved_by   TEXT,
	-- deferred issuance: the transaction and the proven holder keys (JWKs)
	transaction_id TEXT  UNIQUE,
	holder_keys   TEXT
);

-- Issued credentials: one row per offer, with one status entry per copy
-- (batch issuance). No claim values.
CREATE TABLE issuer_credentials (
	id              TEXT   PRIMARY KEY,
	agency          TEXT   NOT NULL REFERENCES issuer_agencies (slug),
	type_id         TEXT   NOT NULL,
	offer_id        TEXT   NOT NULL UNIQUE REFERENCES issuer_offers (id),
	status          TEXT   NOT NULL,
	copies          BIGINT NOT NULL,
	issued_at       BIGINT NOT NULL,
	expires_at      BIGINT NOT NULL,
	notification_id TEXT   NOT NULL UNIQUE,
	notified        TEXT
);

-- Token Status Lists, per agency. bits is 2 (valid, invalid, suspended).
CREATE TABLE issuer_status_lists (
	id         TEXT   PRIMARY KEY,
	agency     TEXT   NOT NULL REFERENCES issuer_agencies (slug),
	bits       BIGINT NOT NULL,
	size       BIGINT NOT NULL,
	used       BIGINT NOT NULL DEFAULT 0,
	version    BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL
);

CREATE TABLE issuer_status_entries (
	list_id       TEXT   NOT NULL REFERENCES issuer_status_lists (id),
	idx           BIGINT NOT NULL,
	credential_id TEXT   NOT NULL REFERENCES issuer_credentials (id),
	status        BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (list_id, idx)
);
CREATE INDEX issuer_status_entries_credential ON issuer_status_entries (credential_id);

-- c_nonce and DPoP jti values already used, until they expire.
CREATE TABLE issuer_used_nonces (
	hash       BLOB   PRIMARY KEY,
	expires_at BIGINT NOT NULL
);

-- Who did what, when. Never claim values.
CREATE TABLE issuer_audit (
	id        TEXT   PRIMARY KEY,
	at        BIGINT NOT NULL,
	agency    TEXT   NOT NULL,
	actor     TEXT   NOT NULL,
	action    TEXT   NOT NULL,
	object    TEXT   NOT NULL,
	detail    TEXT   NOT NULL
);
CREATE INDEX issuer_audit_agency_at ON issuer_audit (agency, at);
