-- cancel_hash is the SHA-256 (base64url) of the cancel key given only to
-- the booker, in their booking link. A slot is held (live_slot) only by a
-- verified booking; the index counts a citizen's live bookings.
ALTER TABLE meetings_bookings ADD COLUMN cancel_hash TEXT NOT NULL DEFAULT '';
CREATE INDEX meetings_bookings_citizen ON meetings_bookings (citizen_ref, status);
-- Bookings that never became one are purged a day after they started
-- (Service.PurgeStale); this index finds them.
CREATE INDEX meetings_bookings_stale ON meetings_bookings (status, created_at);
