-- HAIP 1.0: an agency's X.509 certificate chain (x5c, JSON array, leaf
-- first, issued by the city CA for its credential signing key); its
-- credentials and status list tokens carry it in their x5c header. A
-- table of its own, so that the agencies table keeps its shape.
CREATE TABLE IF NOT EXISTS issuer_agency_x5c (
	agency TEXT PRIMARY KEY REFERENCES issuer_agencies (slug),
	x5c    TEXT NOT NULL
);
