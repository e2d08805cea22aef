-- Documents, the per-recipient history, legal dates and organisation delivery settings.

-- Postal details and the unacknowledged-verifiable policy of an organisation (JSON, edited by
-- its admins): return address, manual-forwarding address for turvakielto, letter sender lines.
ALTER TABLE organisations ADD COLUMN delivery_settings TEXT NOT NULL DEFAULT '{}';

-- Files a user uploaded for a notice being composed; documents themselves live in the blob
-- store under their SHA-256.
CREATE TABLE uploads (
    id               BLOB PRIMARY KEY NOT NULL,
    organisation_id  BLOB NOT NULL REFERENCES organisations (id),
    uploaded_by      BLOB NOT NULL REFERENCES users (id),
    sha256           TEXT NOT NULL,
    filename         TEXT NOT NULL,
    media_type       TEXT NOT NULL,
    size_bytes       BIGINT NOT NULL,
    created_at       TEXT NOT NULL
);
CREATE INDEX uploads_by_organisation ON uploads (organisation_id, sha256);

ALTER TABLE notices ADD COLUMN appeal_instructions TEXT;
-- The paper letter rendered when the notice was composed (when any recipient may get paper):
-- the preview and the document sent are the same bytes.
ALTER TABLE notices ADD COLUMN paper_letter_sha256 TEXT;

CREATE TABLE notice_attachments (
    notice_id   BLOB NOT NULL REFERENCES notices (id),
    position    INTEGER NOT NULL,
    filename    TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size_bytes  BIGINT NOT NULL,
    PRIMARY KEY (notice_id, position)
);

-- What happened after sending: when Suomi.fi took it, which channel it took (from events),
-- the current legal dates (their history is in delivery_history), the 7-day watch, re-serves.
ALTER TABLE deliveries ADD COLUMN submitted_at TEXT;
ALTER TABLE deliveries ADD COLUMN channel_taken TEXT;
ALTER TABLE deliveries ADD COLUMN deemed_receipt TEXT;
ALTER TABLE deliveries ADD COLUMN appeal_deadline TEXT;
ALTER TABLE deliveries ADD COLUMN legal_rule TEXT;
ALTER TABLE deliveries ADD COLUMN unacknowledged_at TEXT;
ALTER TABLE deliveries ADD COLUMN reserve_of BLOB REFERENCES deliveries (id);
CREATE INDEX deliveries_by_status ON deliveries (status, submitted_at);
-- At most one paper re-serve per delivery, however many watchers run.
CREATE UNIQUE INDEX deliveries_one_reserve ON deliveries (reserve_of);

-- The SHA-256 of every document actually sent to Suomi.fi, per delivery.
CREATE TABLE delivery_documents (
    id               BLOB PRIMARY KEY NOT NULL,
    organisation_id  BLOB NOT NULL REFERENCES organisations (id),
    delivery_id      BLOB NOT NULL REFERENCES deliveries (id),
    kind             TEXT NOT NULL CHECK (kind IN ('attachment', 'paper_letter')),
    filename         TEXT NOT NULL,
    media_type       TEXT NOT NULL,
    sha256           TEXT NOT NULL,
    size_bytes       BIGINT NOT NULL,
    sent_at          TEXT NOT NULL
);
CREATE INDEX delivery_documents_by_delivery ON delivery_documents (delivery_id);

-- Everything a delivery goes through, in order, never changed: queued, each attempt and its
-- outcome, each Suomi.fi event, each legal-date computation, the 7-day flag, re-serves.
CREATE TABLE delivery_history (
    id               BLOB PRIMARY KEY NOT NULL,
    organisation_id  BLOB NOT NULL REFERENCES organisations (id),
    delivery_id      BLOB NOT NULL REFERENCES deliveries (id),
    occurred_at      TEXT NOT NULL,
    kind             TEXT NOT NULL,
    details          TEXT NOT NULL
);
CREATE INDEX delivery_history_by_delivery ON delivery_history (delivery_id, occurred_at);

CREATE TRIGGER delivery_history_no_update BEFORE UPDATE ON delivery_history
BEGIN SELECT RAISE(ABORT, 'delivery history is append-only'); END;
CREATE TRIGGER delivery_history_no_delete BEFORE DELETE ON delivery_history
BEGIN SELECT RAISE(ABORT, 'delivery history is append-only'); END;
CREATE TRIGGER delivery_documents_no_update BEFORE UPDATE ON delivery_documents
BEGIN SELECT RAISE(ABORT, 'sent documents are append-only'); END;
CREATE TRIGGER delivery_documents_no_delete BEFORE DELETE ON delivery_documents
BEGIN SELECT RAISE(ABORT, 'sent documents are append-only'); END;
