-- HAIP 1.0: an agency's X.509 certificate chain (x5c, JSON array, leaf
-- first, issued by the city CA for its credential signing key); its
-- credentials carry it in their x5c header.
ALTER TABLE issuer_agencies ADD COLUMN x5c TEXT NOT NULL DEFAULT '';
