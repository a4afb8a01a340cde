-- The wallet's file. Every record is sealed (XChaCha20-Poly1305) under the
-- data key; the data key is sealed under a key derived from the passphrase
-- with Argon2id, whose parameters and salt are in wallet_meta.
CREATE TABLE wallet_meta (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
);

-- kind is credential, receipt or pending; id is random. Nothing else is in
-- the clear.
CREATE TABLE wallet_records (
	id      TEXT   PRIMARY KEY,
	kind    TEXT   NOT NULL,
	created BIGINT NOT NULL,
	sealed  BLOB   NOT NULL
);
CREATE INDEX wallet_records_kind ON wallet_records (kind, created);
