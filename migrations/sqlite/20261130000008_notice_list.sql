-- The notice list pages by (created_at, id) within an organisation, newest first: the index
-- serves the order and the keyset condition together.
CREATE INDEX notices_by_organisation_created ON notices (organisation_id, created_at, id);
DROP INDEX notices_by_organisation;
