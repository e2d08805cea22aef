-- Foundation: organisations, their users, login throttling and the audit log.
-- Every row that belongs to an organisation carries organisation_id, so each query can be
-- scoped to the signed-in user's organisation.
-- Instants are UTC text in one fixed width (YYYY-MM-DDTHH:MM:SS.ffffffZ): text order is time order.

CREATE TABLE organisations (
    id          BLOB PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    id                  BLOB PRIMARY KEY NOT NULL,
    organisation_id     BLOB NOT NULL REFERENCES organisations (id),
    email               TEXT NOT NULL UNIQUE,
    display_name        TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('admin', 'caseworker', 'auditor')),
    active              BOOLEAN NOT NULL DEFAULT TRUE,
    failed_login_count  INTEGER NOT NULL DEFAULT 0,
    locked_until        TEXT,
    last_login_at       TEXT,
    created_at          TEXT NOT NULL
);
CREATE INDEX users_by_organisation ON users (organisation_id);

-- Every login attempt, kept for throttling by client address.
CREATE TABLE login_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    client_ip   TEXT NOT NULL,
    succeeded   BOOLEAN NOT NULL,
    attempted_at TEXT NOT NULL
);
CREATE INDEX login_attempts_by_ip ON login_attempts (client_ip, attempted_at);

-- Append-only: nothing updates or deletes these rows.
CREATE TABLE audit_events (
    id               BLOB PRIMARY KEY NOT NULL,
    organisation_id  BLOB REFERENCES organisations (id),
    occurred_at      TEXT NOT NULL,
    actor_user_id    BLOB REFERENCES users (id),
    actor_label      TEXT,
    action           TEXT NOT NULL,
    subject_kind     TEXT,
    subject_id       TEXT,
    client_ip        TEXT,
    details          TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_by_organisation ON audit_events (organisation_id, occurred_at);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
