-- Notices and their deliveries (one per recipient). A delivery's id is its Suomi.fi
-- externalId, fixed when the row is written, so a resend can never become a second message.
-- Identity codes and addresses are sealed (AES-GCM) by the application; identity_lookup is a
-- keyed hash for search; identity_masked is what screens show.
CREATE TABLE notices (
    id               BLOB PRIMARY KEY NOT NULL,
    organisation_id  BLOB NOT NULL REFERENCES organisations (id),
    author_id        BLOB NOT NULL REFERENCES users (id),
    notice_type      TEXT NOT NULL,
    case_reference   TEXT NOT NULL,
    title            TEXT NOT NULL,
    body             TEXT NOT NULL,
    body_format      TEXT NOT NULL,
    language         TEXT NOT NULL,
    verifiable       BOOLEAN NOT NULL,
    appeal_days      INTEGER,
    service_id       TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    UNIQUE (organisation_id, author_id, idempotency_key)
);
CREATE INDEX notices_by_organisation ON notices (organisation_id, created_at);

CREATE TABLE deliveries (
    id                     BLOB PRIMARY KEY NOT NULL,
    organisation_id        BLOB NOT NULL REFERENCES organisations (id),
    notice_id              BLOB NOT NULL REFERENCES notices (id),
    position               INTEGER NOT NULL,
    role                   TEXT NOT NULL,
    recipient_name         TEXT NOT NULL,
    identity_kind          TEXT NOT NULL CHECK (identity_kind IN ('person', 'organisation', 'none')),
    identity_sealed        BLOB,
    identity_lookup        BLOB,
    identity_masked        TEXT,
    address_sealed         BLOB,
    facts                  TEXT NOT NULL,
    requested_mode         TEXT NOT NULL,
    decided_mode           TEXT NOT NULL,
    channel_reasons        TEXT NOT NULL,
    paper_addressee        TEXT NOT NULL,
    status                 TEXT NOT NULL,
    suomifi_message_id     INTEGER,
    needs_attention_reason TEXT,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL
);
CREATE INDEX deliveries_by_notice ON deliveries (notice_id, position);
CREATE INDEX deliveries_by_identity ON deliveries (organisation_id, identity_lookup);
