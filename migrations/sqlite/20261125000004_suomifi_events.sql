-- Every status event fetched from Suomi.fi, kept for good (the service keeps them 60 days).
-- A page fetched twice (a crash before the cursor was saved) adds nothing: the unique key.
CREATE TABLE suomifi_events (
    id               BLOB PRIMARY KEY NOT NULL,
    organisation_id  BLOB REFERENCES organisations (id),
    delivery_id      BLOB REFERENCES deliveries (id),
    message_id       INTEGER NOT NULL,
    service_id       TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    event_time       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    fetched_at       TEXT NOT NULL,
    UNIQUE (message_id, event_type, event_time)
);
CREATE INDEX suomifi_events_by_delivery ON suomifi_events (delivery_id, event_time);

CREATE TRIGGER suomifi_events_no_update BEFORE UPDATE ON suomifi_events
BEGIN SELECT RAISE(ABORT, 'Suomi.fi events are append-only'); END;

-- Where reading the events feed goes on from, per Suomi.fi service.
CREATE TABLE suomifi_cursors (
    service_id          TEXT PRIMARY KEY NOT NULL,
    continuation_token  TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
