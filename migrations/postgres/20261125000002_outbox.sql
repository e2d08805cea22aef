-- The outbox: work the request path hands to background workers (sending a delivery to
-- Suomi.fi, later fetching its documents, re-serving on paper...). A job is claimed under a
-- lease; a worker that dies leaves a lease that runs out, and the job is claimed again.
CREATE TABLE outbox_jobs (
    id               UUID PRIMARY KEY,
    organisation_id  UUID NOT NULL REFERENCES organisations (id),
    kind             TEXT NOT NULL,
    subject_id       UUID NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    run_after        TIMESTAMPTZ NOT NULL,
    leased_until     TIMESTAMPTZ,
    lease_owner      TEXT,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ,
    UNIQUE (kind, subject_id)
);
CREATE INDEX outbox_jobs_due ON outbox_jobs (state, run_after);
