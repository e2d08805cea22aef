-- The outbox: work the request path hands to background workers (sending a delivery to
-- Suomi.fi, later fetching its documents, re-serving on paper...). A job is claimed under a
-- lease; a worker that dies leaves a lease that runs out, and the job is claimed again.
CREATE TABLE outbox_jobs (
    id               BLOB PRIMARY KEY NOT NULL,
    organisation_id  BLOB NOT NULL REFERENCES organisations (id),
    kind             TEXT NOT NULL,
    subject_id       BLOB NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    run_after        TEXT NOT NULL,
    leased_until     TEXT,
    lease_owner      TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    finished_at      TEXT,
    UNIQUE (kind, subject_id)
);
CREATE INDEX outbox_jobs_due ON outbox_jobs (state, run_after);
