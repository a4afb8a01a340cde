-- Checkpoints with the witnesses' cosignatures, as the lease holder
-- gathered them, so that every replica serves the newest one.
CREATE TABLE registry_cosigned (
	size    BIGINT PRIMARY KEY,
	signed  TEXT   NOT NULL,
	created TEXT   NOT NULL
);
