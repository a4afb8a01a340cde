-- The registry's log: one row per operation, in log order. idx is the leaf
-- index in the Merkle tree; leaf is the operation's exact canonical bytes.
CREATE TABLE registry_entries (
	idx          BIGINT PRIMARY KEY,
	did          TEXT   NOT NULL,
	seq          BIGINT NOT NULL,
	op_type      TEXT   NOT NULL,
	entry_hash   TEXT   NOT NULL,
	version_time TEXT   NOT NULL,
	leaf         BLOB   NOT NULL,
	UNIQUE (did, seq)
);

-- The tree's stored hashes (golang.org/x/mod/sumdb/tlog numbering).
CREATE TABLE registry_hashes (
	id   BIGINT PRIMARY KEY,
	hash BLOB   NOT NULL
);

-- Every signed checkpoint, by tree size.
CREATE TABLE registry_checkpoints (
	size    BIGINT PRIMARY KEY,
	root    BLOB   NOT NULL,
	signed  TEXT   NOT NULL,
	created TEXT   NOT NULL
);

-- Derived from the log (rebuildable): each DID's head.
CREATE TABLE registry_heads (
	did      TEXT   PRIMARY KEY,
	seq      BIGINT NOT NULL,
	head_idx BIGINT NOT NULL,
	state    TEXT   NOT NULL
);

-- Derived from the log: accreditations by the trust authority.
CREATE TABLE registry_accreditations (
	version_id  TEXT   PRIMARY KEY,
	subject     TEXT   NOT NULL,
	role        TEXT   NOT NULL,
	scope       TEXT   NOT NULL,
	valid_from  TEXT   NOT NULL,
	valid_until TEXT   NOT NULL DEFAULT '',
	idx         BIGINT NOT NULL,
	revoked_at  TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX registry_accreditations_subject ON registry_accreditations (subject);

-- Derived from the log: the issuer URLs that DID documents name.
CREATE TABLE registry_issuer_urls (
	url TEXT PRIMARY KEY,
	did TEXT NOT NULL
);
