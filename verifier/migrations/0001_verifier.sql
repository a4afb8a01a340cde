-- Verifying organisations: their did:tong DID and request-signing key.
CREATE TABLE verifier_orgs (
	slug       TEXT   PRIMARY KEY,
	name       TEXT   NOT NULL,
	did        TEXT   NOT NULL,
	key_name   TEXT   NOT NULL,
	key_id     TEXT   NOT NULL,
	webhook    TEXT   NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL
);

-- Counters (verifier clients) of an organisation.
CREATE TABLE verifier_counters (
	id         TEXT   PRIMARY KEY,
	org        TEXT   NOT NULL REFERENCES verifier_orgs (slug),
	name       TEXT   NOT NULL,
	purposes   TEXT   NOT NULL, -- JSON array of purpose ids
	created_at BIGINT NOT NULL
);

-- Counter API tokens, stored as SHA-256 hashes.
CREATE TABLE verifier_tokens (
	id         TEXT   PRIMARY KEY,
	counter    TEXT   NOT NULL REFERENCES verifier_counters (id),
	hash       BLOB   NOT NULL UNIQUE,
	created_at BIGINT NOT NULL,
	revoked_at BIGINT
);

-- Purposes: named presets of a DCQL query and a policy (JSON).
CREATE TABLE verifier_purposes (
	id         TEXT   PRIMARY KEY,
	definition TEXT   NOT NULL,
	updated_at BIGINT NOT NULL
);

-- Verification sessions. nonce is single use: a session leaves pending
-- exactly once.
CREATE TABLE verifier_sessions (
	id               TEXT   PRIMARY KEY,
	counter          TEXT   NOT NULL REFERENCES verifier_counters (id),
	purpose          TEXT   NOT NULL,
	nonce            TEXT   NOT NULL UNIQUE,
	state            TEXT   NOT NULL,
	request          TEXT   NOT NULL,
	transaction_data TEXT   NOT NULL DEFAULT '',
	status           TEXT   NOT NULL,
	result           TEXT   NOT NULL DEFAULT '',
	response_code    TEXT   NOT NULL DEFAULT '',
	created_at       BIGINT NOT NULL,
	expires_at       BIGINT NOT NULL,
	completed_at     BIGINT
);
CREATE INDEX verifier_sessions_counter ON verifier_sessions (counter, created_at);
