-- HAIP 1.0: an organisation's X.509 certificate chain (x5c, JSON array,
-- leaf first, issued by the city CA for its request-signing key), and per
-- session the client identifier and response mode it was asked with and
-- the ephemeral response decryption key (direct_post.jwt), which is
-- erased when the session is answered.
ALTER TABLE verifier_orgs ADD COLUMN x5c TEXT NOT NULL DEFAULT '';
ALTER TABLE verifier_sessions ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE verifier_sessions ADD COLUMN response_mode TEXT NOT NULL DEFAULT '';
ALTER TABLE verifier_sessions ADD COLUMN response_key TEXT NOT NULL DEFAULT '';
