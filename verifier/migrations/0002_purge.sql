-- Unanswered sessions are purged a day after they expire
-- (Service.PurgeExpired); this index finds them.
CREATE INDEX verifier_sessions_expiry ON verifier_sessions (status, expires_at);
