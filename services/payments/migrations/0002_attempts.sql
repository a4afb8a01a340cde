-- Payment attempts: each press of "Pay" is an attempt of its own, with
-- its own verifier session, so that one attempt cannot replace another's.
-- The attempt id is the payer's page link; a receipt names the attempt
-- that paid, and only that attempt's page links it.
CREATE TABLE payments_attempts (
	id         TEXT   PRIMARY KEY,
	order_id   TEXT   NOT NULL REFERENCES payments_orders (id),
	session    TEXT   NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX payments_attempts_order ON payments_attempts (order_id);
ALTER TABLE payments_receipts ADD COLUMN attempt TEXT NOT NULL DEFAULT '';
-- Attempts that paid nothing are purged a day after they started
-- (Service.PurgeStale); this index finds them.
CREATE INDEX payments_attempts_created ON payments_attempts (created_at);
