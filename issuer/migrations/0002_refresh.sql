-- Refresh: the credential's claims sealed under a key that only the
-- wallet's refresh token carries, so the wallet can fetch fresh one-time
-- copies while the database alone never reveals the claims.
ALTER TABLE issuer_credentials ADD COLUMN sealed_claims BLOB;
