-- Fee orders, in fen (1/100 CNY).
CREATE TABLE payments_orders (
	id          TEXT   PRIMARY KEY,
	reference   TEXT   NOT NULL UNIQUE,
	agency      TEXT   NOT NULL,
	description TEXT   NOT NULL,
	amount_fen  BIGINT NOT NULL,
	status      TEXT   NOT NULL, -- open, paid
	session     TEXT   NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL
);

-- Receipts. payer_ref is a pairwise HMAC of the payer's ID number; the
-- number itself is never stored.
CREATE TABLE payments_receipts (
	id         TEXT   PRIMARY KEY,
	order_id   TEXT   NOT NULL UNIQUE REFERENCES payments_orders (id),
	payer_ref  TEXT   NOT NULL,
	payer_name TEXT   NOT NULL,
	paid_at    BIGINT NOT NULL,
	jwt        TEXT   NOT NULL
);
