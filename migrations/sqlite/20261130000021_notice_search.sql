-- The notice list at a million notices. Free text (case reference, title, recipients' names)
-- is found by a trigram index: any substring of three characters or more without reading every
-- notice. The store writes a notice's row in the transaction that inserts the notice; the
-- table keeps its own copy of the text (no rowid link to notices, which VACUUM may renumber).
-- A rare status is found from the deliveries in it, by the second index.
CREATE VIRTUAL TABLE notice_search USING fts5 (notice_id UNINDEXED, search_text, tokenize = 'trigram');
INSERT INTO notice_search (notice_id, search_text)
SELECT n.id,
       LOWER(n.case_reference || char(10) || n.title
             || COALESCE((SELECT char(10) || group_concat(d.recipient_name, char(10))
                          FROM deliveries d WHERE d.notice_id = n.id AND d.reserve_of IS NULL), ''))
FROM notices n;

CREATE INDEX deliveries_by_status_in_organisation ON deliveries (status, organisation_id, notice_id);
