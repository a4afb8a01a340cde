-- Who owns each vct: the agency that defined it first. Another agency's
-- type may not use it (a vct under an agency's issuer URL is that
-- agency's, whoever asks first). Rows predating this table are filled
-- from issuer_types when the migration is applied.
CREATE TABLE issuer_vct_owners (
	vct        TEXT   PRIMARY KEY,
	agency     TEXT   NOT NULL REFERENCES issuer_agencies (slug),
	created_at BIGINT NOT NULL
);
