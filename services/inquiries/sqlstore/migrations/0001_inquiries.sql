-- Topics an agency answers questions on. proofs is a JSON array of proof
-- ids (resident, age-60) an asker may give.
CREATE TABLE inquiries_topics (
	id          TEXT   PRIMARY KEY,
	agency      TEXT   NOT NULL,
	name        TEXT   NOT NULL,
	description TEXT   NOT NULL,
	reply_hours BIGINT NOT NULL,
	anonymous   BIGINT NOT NULL, -- 1 if questions without a proof are allowed
	proofs      TEXT   NOT NULL,
	open        BIGINT NOT NULL,
	created_at  BIGINT NOT NULL
);
CREATE INDEX inquiries_topics_agency ON inquiries_topics (agency, created_at);

-- Inquiries. token_hash is SHA-256 of the citizen's secret token (hex);
-- client is a keyed hash of the asker's address, kept for the flood
-- limits; disclosed holds only the claims the asker proved (JSON).
CREATE TABLE inquiries (
	id         TEXT   PRIMARY KEY,
	reference  TEXT   NOT NULL UNIQUE,
	agency     TEXT   NOT NULL,
	topic      TEXT   NOT NULL REFERENCES inquiries_topics (id),
	token_hash TEXT   NOT NULL UNIQUE,
	status     TEXT   NOT NULL, -- verifying, failed, new, assigned, answered, closed
	assignee   TEXT   NOT NULL DEFAULT '',
	proofs     TEXT   NOT NULL,
	disclosed  TEXT   NOT NULL DEFAULT '[]',
	reason     TEXT   NOT NULL DEFAULT '',
	session    TEXT   NOT NULL DEFAULT '',
	client     TEXT   NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	due_at     BIGINT NOT NULL
);
CREATE INDEX inquiries_queue ON inquiries (agency, status, created_at);
CREATE INDEX inquiries_client ON inquiries (client, created_at);
CREATE INDEX inquiries_created ON inquiries (created_at);

-- The thread: the question first (seq 1), then replies and notes.
CREATE TABLE inquiries_messages (
	inquiry TEXT   NOT NULL REFERENCES inquiries (id),
	seq     BIGINT NOT NULL,
	author  TEXT   NOT NULL, -- citizen, staff
	kind    TEXT   NOT NULL, -- message, more_info, note
	staff   TEXT   NOT NULL DEFAULT '',
	body    TEXT   NOT NULL,
	at      BIGINT NOT NULL,
	PRIMARY KEY (inquiry, seq)
);
