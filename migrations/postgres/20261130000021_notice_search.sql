-- The notice list at a million notices. Free text (case reference, title, recipients' names)
-- is found by a trigram index: any substring of three characters or more without reading every
-- notice. The store writes a notice's row in the transaction that inserts the notice. pg_trgm
-- ships with PostgreSQL and is a trusted extension: the database's owner may create it.
-- A rare status is found from the deliveries in it, by the second index.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE TABLE notice_search (
    notice_id   UUID PRIMARY KEY REFERENCES notices (id),
    search_text TEXT NOT NULL
);
INSERT INTO notice_search (notice_id, search_text)
SELECT n.id,
       LOWER(n.case_reference || E'\n' || n.title
             || COALESCE((SELECT E'\n' || string_agg(d.recipient_name, E'\n' ORDER BY d.position)
                          FROM deliveries d WHERE d.notice_id = n.id AND d.reserve_of IS NULL), ''))
FROM notices n;
CREATE INDEX notice_search_trigrams ON notice_search USING gin (search_text gin_trgm_ops);

CREATE INDEX deliveries_by_status_in_organisation ON deliveries (status, organisation_id, notice_id);
