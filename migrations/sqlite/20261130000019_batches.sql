-- Sending to many: a recipients file checked row by row (the dry run), then, once a caseworker
-- confirms, every good row queued as its own notice through the same compose service — one
-- outbox job per row, all written in the confirming transaction, each row's notice keyed by
-- the row so a crash or a second worker never queues a row twice.
CREATE TABLE batches (
    id               BLOB PRIMARY KEY NOT NULL,
    organisation_id  BLOB NOT NULL REFERENCES organisations (id),
    created_by       BLOB NOT NULL REFERENCES users (id),
    created_at       TEXT NOT NULL,
    filename         TEXT NOT NULL,
    -- The file's SHA-256: the same file uploaded again is pointed out before sending.
    file_sha256      TEXT NOT NULL,
    -- The notice every row gets (a compose draft without recipients), JSON.
    draft            TEXT NOT NULL,
    template_id      BLOB,
    template_version INTEGER,
    -- checked | confirmed | cancelled
    status           TEXT NOT NULL,
    -- Why the file as a whole was refused (JSON), or the common notice's problems (JSON list).
    file_problem     TEXT,
    notice_problems  TEXT NOT NULL DEFAULT '[]',
    ignored_columns  TEXT NOT NULL DEFAULT '[]',
    rows_total       INTEGER NOT NULL DEFAULT 0,
    rows_good        INTEGER NOT NULL DEFAULT 0,
    -- Good rows per decided delivery mode (JSON object).
    modes            TEXT NOT NULL DEFAULT '{}',
    confirmed_at     TEXT,
    confirmed_by     BLOB REFERENCES users (id)
);
CREATE INDEX batches_by_organisation ON batches (organisation_id, created_at);
CREATE INDEX batches_by_file ON batches (organisation_id, file_sha256);

CREATE TABLE batch_rows (
    id               BLOB PRIMARY KEY NOT NULL,
    batch_id         BLOB NOT NULL REFERENCES batches (id),
    organisation_id  BLOB NOT NULL REFERENCES organisations (id),
    -- The spreadsheet's row number (the header is row 1).
    row_number       INTEGER NOT NULL,
    -- invalid | ready | queued | failed | cancelled
    status           TEXT NOT NULL,
    problems         TEXT NOT NULL DEFAULT '[]',
    recipient_name   TEXT NOT NULL,
    identity_masked  TEXT,
    -- The row's recipient (identity code, address) and case reference, sealed; dropped once
    -- the row is queued or the batch is cancelled: the notice keeps what it needs.
    recipient_sealed BLOB,
    decided_mode     TEXT,
    notice_id        BLOB REFERENCES notices (id),
    delivery_id      BLOB REFERENCES deliveries (id),
    UNIQUE (batch_id, row_number)
);
CREATE INDEX batch_rows_by_batch ON batch_rows (batch_id, status, row_number);
