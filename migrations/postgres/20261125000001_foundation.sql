-- Foundation: organisations, their users, login throttling and the audit log.
-- Every row that belongs to an organisation carries organisation_id, so each query can be
-- scoped to the signed-in user's organisation.

CREATE TABLE organisations (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id                  UUID PRIMARY KEY,
    organisation_id     UUID NOT NULL REFERENCES organisations (id),
    email               TEXT NOT NULL UNIQUE,
    display_name        TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('admin', 'caseworker', 'auditor')),
    active              BOOLEAN NOT NULL DEFAULT TRUE,
    failed_login_count  INTEGER NOT NULL DEFAULT 0,
    locked_until        TIMESTAMPTZ,
    last_login_at       TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_by_organisation ON users (organisation_id);

-- Every login attempt, kept for throttling by client address.
CREATE TABLE login_attempts (
    id           BIGSERIAL PRIMARY KEY,
    client_ip    TEXT NOT NULL,
    succeeded    BOOLEAN NOT NULL,
    attempted_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_attempts_by_ip ON login_attempts (client_ip, attempted_at);

-- Append-only: nothing updates or deletes these rows.
CREATE TABLE audit_events (
    id               UUID PRIMARY KEY,
    organisation_id  UUID REFERENCES organisations (id),
    occurred_at      TIMESTAMPTZ NOT NULL,
    actor_user_id    UUID REFERENCES users (id),
    actor_label      TEXT,
    action           TEXT NOT NULL,
    subject_kind     TEXT,
    subject_id       TEXT,
    client_ip        TEXT,
    details          TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_by_organisation ON audit_events (organisation_id, occurred_at);

CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
