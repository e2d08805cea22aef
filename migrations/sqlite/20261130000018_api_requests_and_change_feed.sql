-- What `POST /api/v1/…` answered to an `Idempotency-Key`: a repeat with the same body gets the
-- same answer, another body under the same key is refused. A row without a response is a
-- request under way (or one cut short: re-running it is safe, queuing is idempotent itself).
CREATE TABLE api_requests (
    api_key_id       BLOB NOT NULL REFERENCES api_keys (id),
    idempotency_key  TEXT NOT NULL,
    request_sha256   TEXT NOT NULL,
    response_status  INTEGER,
    response_body    TEXT,
    created_at       TEXT NOT NULL,
    PRIMARY KEY (api_key_id, idempotency_key)
);

-- The organisation's change feed (`GET /api/v1/events`): every delivery history entry and
-- every citizen's reply, numbered in commit order so a reader resuming after a number never
-- misses one. SQLite has one writer at a time, so the numbers follow commits by themselves.
CREATE TABLE change_feed (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id  BLOB NOT NULL REFERENCES organisations (id),
    occurred_at      TEXT NOT NULL,
    history_id       BLOB REFERENCES delivery_history (id),
    reply_id         BLOB REFERENCES citizen_replies (id)
);
CREATE INDEX change_feed_by_organisation ON change_feed (organisation_id, seq);

INSERT INTO change_feed (organisation_id, occurred_at, history_id)
    SELECT organisation_id, occurred_at, id FROM delivery_history ORDER BY occurred_at, id;
INSERT INTO change_feed (organisation_id, occurred_at, reply_id)
    SELECT organisation_id, fetched_at, id FROM citizen_replies
    WHERE organisation_id IS NOT NULL ORDER BY fetched_at, id;

CREATE TRIGGER delivery_history_into_change_feed AFTER INSERT ON delivery_history
BEGIN
    INSERT INTO change_feed (organisation_id, occurred_at, history_id)
    VALUES (NEW.organisation_id, NEW.occurred_at, NEW.id);
END;
CREATE TRIGGER citizen_replies_into_change_feed AFTER INSERT ON citizen_replies
WHEN NEW.organisation_id IS NOT NULL
BEGIN
    INSERT INTO change_feed (organisation_id, occurred_at, reply_id)
    VALUES (NEW.organisation_id, NEW.fetched_at, NEW.id);
END;
CREATE TRIGGER change_feed_no_update BEFORE UPDATE ON change_feed
BEGIN SELECT RAISE(ABORT, 'the change feed is append-only'); END;
