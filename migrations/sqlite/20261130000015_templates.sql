-- Notice templates per organisation, notice type and language. Editing makes a new version;
-- versions are never changed or deleted, and a notice names the version it was made from.
CREATE TABLE templates (
    id               BLOB PRIMARY KEY NOT NULL,
    organisation_id  BLOB NOT NULL REFERENCES organisations (id),
    name             TEXT NOT NULL,
    notice_type      TEXT NOT NULL,
    language         TEXT NOT NULL,
    latest_version   INTEGER NOT NULL,
    archived         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX templates_by_organisation ON templates (organisation_id, notice_type, language);

CREATE TABLE template_versions (
    template_id          BLOB NOT NULL REFERENCES templates (id),
    version              INTEGER NOT NULL,
    -- JSON: title, body, decision blocks, appeal days and basis, verifiable, replies allowed.
    content              TEXT NOT NULL,
    created_by           BLOB REFERENCES users (id),
    created_at           TEXT NOT NULL,
    PRIMARY KEY (template_id, version)
);
CREATE TRIGGER template_versions_never_change BEFORE UPDATE ON template_versions
BEGIN SELECT RAISE(ABORT, 'template versions are kept as they were'); END;
CREATE TRIGGER template_versions_never_go BEFORE DELETE ON template_versions
BEGIN SELECT RAISE(ABORT, 'template versions are kept as they were'); END;

ALTER TABLE notices ADD COLUMN template_id BLOB;
ALTER TABLE notices ADD COLUMN template_version INTEGER;
ALTER TABLE notices ADD COLUMN replies_allowed BOOLEAN NOT NULL DEFAULT FALSE;
