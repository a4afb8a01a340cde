-- The log's head: one row. Every batch of appends, from any replica,
-- locks it (SELECT ... FOR UPDATE) in its transaction, so the database
-- orders the batches and no two write the same index.
CREATE TABLE registry_log_head (
	id   BIGINT PRIMARY KEY CHECK (id = 1),
	size BIGINT NOT NULL
);
INSERT INTO registry_log_head (id, size) SELECT 1, COUNT(*) FROM registry_entries;

-- The sequencer lease: the one replica that signs checkpoints and gathers
-- cosignatures. fence grows by one with each new holder; a checkpoint is
-- published only in a transaction that finds the lease still held, under
-- the same fence, by its signer. expires_ms is on the database's clock.
CREATE TABLE registry_lease (
	id         BIGINT PRIMARY KEY CHECK (id = 1),
	holder     TEXT   NOT NULL,
	fence      BIGINT NOT NULL,
	expires_ms BIGINT NOT NULL
);
INSERT INTO registry_lease (id, holder, fence, expires_ms) VALUES (1, '', 0, 0);

-- Which lease term (fence) signed each checkpoint; 0 on SQLite, where one
-- process owns the database.
ALTER TABLE registry_checkpoints ADD COLUMN fence BIGINT NOT NULL DEFAULT 0;
