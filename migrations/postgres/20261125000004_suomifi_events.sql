-- Every status event fetched from Suomi.fi, kept for good (the service keeps them 60 days).
-- A page fetched twice (a crash before the cursor was saved) adds nothing: the unique key.
CREATE TABLE suomifi_events (
    id               UUID PRIMARY KEY,
    organisation_id  UUID REFERENCES organisations (id),
    delivery_id      UUID REFERENCES deliveries (id),
    message_id       BIGINT NOT NULL,
    service_id       TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    event_time       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    fetched_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (message_id, event_type, event_time)
);
CREATE INDEX suomifi_events_by_delivery ON suomifi_events (delivery_id, event_time);

CREATE FUNCTION suomifi_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Suomi.fi events are append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER suomifi_events_no_update BEFORE UPDATE ON suomifi_events
FOR EACH ROW EXECUTE FUNCTION suomifi_events_append_only();

-- Where reading the events feed goes on from, per Suomi.fi service.
CREATE TABLE suomifi_cursors (
    service_id          TEXT PRIMARY KEY,
    continuation_token  TEXT NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
