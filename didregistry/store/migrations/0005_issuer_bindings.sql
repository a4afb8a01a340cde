-- Issuer URL bindings now come only from the trust authority's
-- accreditations (credentialIssuer), never from DID documents: the rows
-- derived from documents are dropped. Accreditations written before
-- credentialIssuer existed bind nothing; the trust authority re-accredits.
DELETE FROM registry_issuer_urls;
