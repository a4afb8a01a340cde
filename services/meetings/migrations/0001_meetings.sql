-- Officials and the slots they publish.
CREATE TABLE meetings_officials (
	id     TEXT PRIMARY KEY,
	name   TEXT NOT NULL,
	title  TEXT NOT NULL,
	agency TEXT NOT NULL
);

CREATE TABLE meetings_slots (
	id        TEXT   PRIMARY KEY,
	official  TEXT   NOT NULL REFERENCES meetings_officials (id),
	starts_at BIGINT NOT NULL,
	minutes   BIGINT NOT NULL,
	place     TEXT   NOT NULL,
	topic     TEXT   NOT NULL
);
CREATE INDEX meetings_slots_official ON meetings_slots (official, starts_at);

-- Bookings. citizen_ref is a pairwise, non-reversible HMAC of the verified
-- identity (names and birth date), never an ID number. One live booking
-- per slot.
CREATE TABLE meetings_bookings (
	id             TEXT   PRIMARY KEY,
	slot           TEXT   NOT NULL REFERENCES meetings_slots (id),
	number         TEXT   NOT NULL UNIQUE,
	status         TEXT   NOT NULL, -- verifying, booked, cancelled, checked_in, failed
	citizen_ref    TEXT   NOT NULL DEFAULT '',
	session        TEXT   NOT NULL,
	checkin        TEXT   NOT NULL DEFAULT '',
	reason         TEXT   NOT NULL DEFAULT '',
	created_at     BIGINT NOT NULL,
	live_slot      TEXT   UNIQUE -- = slot while verifying or booked; NULL otherwise
);
