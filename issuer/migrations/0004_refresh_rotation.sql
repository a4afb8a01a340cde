-- Refresh token rotation (RFC 9700 §4.14.2): refresh_gen is the generation
-- of the one refresh token of the credential that still works; each refresh
-- moves it on by one. -1 marks a family revoked because an old refresh
-- token came back.
ALTER TABLE issuer_credentials ADD COLUMN refresh_gen BIGINT NOT NULL DEFAULT 0;
