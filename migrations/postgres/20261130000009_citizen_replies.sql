-- Messages citizens sent us through Suomi.fi (replies), fetched after their event and kept:
-- Suomi.fi forgets them after 60 days. One row per Suomi.fi message (fetching twice adds
-- nothing). The sender's identity code is sealed like a recipient's, with a lookup hash;
-- attachments are in the blob store, named here by their SHA-256. Only the sealed columns
-- may change (a data-key rotation re-seals them); nothing is deleted.
CREATE TABLE citizen_replies (
    id               UUID PRIMARY KEY NOT NULL,
    organisation_id  UUID REFERENCES organisations (id),
    message_id       BIGINT NOT NULL UNIQUE,
    service_id       TEXT NOT NULL,
    notice_id        UUID REFERENCES notices (id),
    delivery_id      UUID REFERENCES deliveries (id),
    in_reply_to      BIGINT,
    sender_name      TEXT,
    sender_sealed    BYTEA,
    sender_lookup    BYTEA,
    sender_masked    TEXT,
    on_behalf_name   TEXT,
    title            TEXT NOT NULL,
    body             TEXT NOT NULL,
    attachments      TEXT NOT NULL DEFAULT '[]',
    unavailable      BOOLEAN NOT NULL DEFAULT FALSE,
    sent_at          TIMESTAMPTZ NOT NULL,
    fetched_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX citizen_replies_by_organisation ON citizen_replies (organisation_id, sent_at);
CREATE INDEX citizen_replies_by_notice ON citizen_replies (notice_id, sent_at);

CREATE TRIGGER citizen_replies_no_update BEFORE UPDATE OF
    id, organisation_id, message_id, service_id, notice_id, delivery_id, in_reply_to,
    sender_name, sender_masked, on_behalf_name, title, body, attachments, unavailable,
    sent_at, fetched_at
ON citizen_replies
FOR EACH ROW EXECUTE FUNCTION proof_append_only();
CREATE TRIGGER citizen_replies_no_delete BEFORE DELETE ON citizen_replies
FOR EACH ROW EXECUTE FUNCTION proof_append_only();

-- Who has opened which reply (first time): a reply is unread for a user until they open it.
CREATE TABLE citizen_reply_openings (
    reply_id   UUID NOT NULL REFERENCES citizen_replies (id),
    user_id    UUID NOT NULL REFERENCES users (id),
    opened_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (reply_id, user_id)
);
