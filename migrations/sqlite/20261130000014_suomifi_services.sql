-- Suomi.fi services in the database, several per organisation: the REST credentials and the
-- printing contract's Posti credentials sealed with the data key, never shown again. A
-- rotation first keeps the new password as pending, then asks Suomi.fi, then makes it current
-- in the statement that records the change: a crash in between loses no password.
CREATE TABLE suomifi_services (
    id                       BLOB PRIMARY KEY NOT NULL,
    organisation_id          BLOB NOT NULL REFERENCES organisations (id),
    name                     TEXT NOT NULL,
    service_id               TEXT NOT NULL UNIQUE,
    username                 TEXT NOT NULL,
    password_sealed          BLOB NOT NULL,
    pending_password_sealed  BLOB,
    password_changed_at      TEXT NOT NULL,
    posti_username           TEXT NOT NULL DEFAULT '',
    posti_password_sealed    BLOB,
    posti_email              TEXT NOT NULL DEFAULT '',
    cost_pool                TEXT,
    is_default               BOOLEAN NOT NULL DEFAULT FALSE,
    last_check_at            TEXT,
    last_check_ok            BOOLEAN,
    last_check_message       TEXT,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL
);
CREATE INDEX suomifi_services_by_organisation ON suomifi_services (organisation_id);
CREATE UNIQUE INDEX suomifi_services_one_default ON suomifi_services (organisation_id)
    WHERE is_default;
