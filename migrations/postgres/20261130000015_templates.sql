-- Notice templates per organisation, notice type and language. Editing makes a new version;
-- versions are never changed or deleted, and a notice names the version it was made from.
CREATE TABLE templates (
    id               UUID PRIMARY KEY NOT NULL,
    organisation_id  UUID NOT NULL REFERENCES organisations (id),
    name             TEXT NOT NULL,
    notice_type      TEXT NOT NULL,
    language         TEXT NOT NULL,
    latest_version   INTEGER NOT NULL,
    archived         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX templates_by_organisation ON templates (organisation_id, notice_type, language);

CREATE TABLE template_versions (
    template_id          UUID NOT NULL REFERENCES templates (id),
    version              INTEGER NOT NULL,
    -- JSON: title, body, decision blocks, appeal days and basis, verifiable, replies allowed.
    content              TEXT NOT NULL,
    created_by           UUID REFERENCES users (id),
    created_at           TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (template_id, version)
);
CREATE FUNCTION template_versions_are_kept() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'template versions are kept as they were'; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER template_versions_never_change BEFORE UPDATE OR DELETE ON template_versions
FOR EACH ROW EXECUTE FUNCTION template_versions_are_kept();

ALTER TABLE notices ADD COLUMN template_id UUID;
ALTER TABLE notices ADD COLUMN template_version INTEGER;
ALTER TABLE notices ADD COLUMN replies_allowed BOOLEAN NOT NULL DEFAULT FALSE;
