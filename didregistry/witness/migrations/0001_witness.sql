-- The newest checkpoint this witness cosigned, per log origin.
CREATE TABLE witness_logs (
	origin  TEXT   PRIMARY KEY,
	size    BIGINT NOT NULL,
	root    BLOB   NOT NULL,
	updated TEXT   NOT NULL
);
