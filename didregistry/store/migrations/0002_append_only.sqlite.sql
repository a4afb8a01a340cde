-- The log is append-only: rows of the log tables can never change or go.
CREATE TRIGGER registry_entries_no_update BEFORE UPDATE ON registry_entries
BEGIN SELECT RAISE(ABORT, 'registry_entries is append-only'); END;
CREATE TRIGGER registry_entries_no_delete BEFORE DELETE ON registry_entries
BEGIN SELECT RAISE(ABORT, 'registry_entries is append-only'); END;
CREATE TRIGGER registry_hashes_no_update BEFORE UPDATE ON registry_hashes
BEGIN SELECT RAISE(ABORT, 'registry_hashes is append-only'); END;
CREATE TRIGGER registry_hashes_no_delete BEFORE DELETE ON registry_hashes
BEGIN SELECT RAISE(ABORT, 'registry_hashes is append-only'); END;
CREATE TRIGGER registry_checkpoints_no_update BEFORE UPDATE ON registry_checkpoints
BEGIN SELECT RAISE(ABORT, 'registry_checkpoints is append-only'); END;
CREATE TRIGGER registry_checkpoints_no_delete BEFORE DELETE ON registry_checkpoints
BEGIN SELECT RAISE(ABORT, 'registry_checkpoints is append-only'); END;
