-- The log is append-only: rows of the log tables can never change or go.
CREATE FUNCTION registry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER registry_entries_no_update BEFORE UPDATE OR DELETE ON registry_entries
	FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER registry_entries_no_truncate BEFORE TRUNCATE ON registry_entries
	FOR EACH STATEMENT EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER registry_hashes_no_update BEFORE UPDATE OR DELETE ON registry_hashes
	FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER registry_hashes_no_truncate BEFORE TRUNCATE ON registry_hashes
	FOR EACH STATEMENT EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER registry_checkpoints_no_update BEFORE UPDATE OR DELETE ON registry_checkpoints
	FOR EACH ROW EXECUTE FUNCTION registry_append_only();
CREATE TRIGGER registry_checkpoints_no_truncate BEFORE TRUNCATE ON registry_checkpoints
	FOR EACH STATEMENT EXECUTE FUNCTION registry_append_only();
