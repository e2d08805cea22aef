-- What `POST /api/v1/…` answered to an `Idempotency-Key`: a repeat with the same body gets the
-- same answer, another body under the same key is refused. A row without a response is a
-- request under way (or one cut short: re-running it is safe, queuing is idempotent itself).
CREATE TABLE api_requests (
    api_key_id       UUID NOT NULL REFERENCES api_keys (id),
    idempotency_key  TEXT NOT NULL,
    request_sha256   TEXT NOT NULL,
    response_status  INTEGER,
    response_body    TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (api_key_id, idempotency_key)
);

-- The organisation's change feed (`GET /api/v1/events`): every delivery history entry and
-- every citizen's reply, numbered in commit order so a reader resuming after a number never
-- misses one.
CREATE TABLE change_feed (
    seq              BIGSERIAL PRIMARY KEY,
    organisation_id  UUID NOT NULL REFERENCES organisations (id),
    occurred_at      TIMESTAMPTZ NOT NULL,
    history_id       UUID REFERENCES delivery_history (id),
    reply_id         UUID REFERENCES citizen_replies (id)
);
CREATE INDEX change_feed_by_organisation ON change_feed (organisation_id, seq);

INSERT INTO change_feed (organisation_id, occurred_at, history_id)
    SELECT organisation_id, occurred_at, id FROM delivery_history ORDER BY occurred_at, id;
INSERT INTO change_feed (organisation_id, occurred_at, reply_id)
    SELECT organisation_id, fetched_at, id FROM citizen_replies
    WHERE organisation_id IS NOT NULL ORDER BY fetched_at, id;

-- Sequence numbers are handed out when rows are written, not when they commit: two writers
-- could commit 8 after a reader has seen 9 and moved on. The transaction-scoped lock makes
-- feed writers take their turns until commit, so numbers follow commits.
CREATE FUNCTION change_feed_append() RETURNS trigger AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7254061018);
    IF TG_TABLE_NAME = 'delivery_history' THEN
        INSERT INTO change_feed (organisation_id, occurred_at, history_id)
        VALUES (NEW.organisation_id, NEW.occurred_at, NEW.id);
    ELSIF NEW.organisation_id IS NOT NULL THEN
        INSERT INTO change_feed (organisation_id, occurred_at, reply_id)
        VALUES (NEW.organisation_id, NEW.fetched_at, NEW.id);
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER delivery_history_into_change_feed AFTER INSERT ON delivery_history
    FOR EACH ROW EXECUTE FUNCTION change_feed_append();
CREATE TRIGGER citizen_replies_into_change_feed AFTER INSERT ON citizen_replies
    FOR EACH ROW EXECUTE FUNCTION change_feed_append();

CREATE FUNCTION change_feed_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the change feed is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER change_feed_no_update BEFORE UPDATE ON change_feed
    FOR EACH ROW EXECUTE FUNCTION change_feed_append_only();
