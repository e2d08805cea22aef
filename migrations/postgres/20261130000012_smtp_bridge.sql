-- The SMTP bridge: who may send notices by mail, and every mail accepted.
--
-- A sender domain belongs to one organisation: the envelope sender's domain names the
-- organisation, and From / Reply-To must be in its domains. Relay networks are the client
-- addresses (CIDR) allowed to hand the organisation's mail over without SMTP AUTH.
CREATE TABLE smtp_sender_domains (
    domain           TEXT PRIMARY KEY NOT NULL,
    organisation_id  UUID NOT NULL REFERENCES organisations (id),
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX smtp_sender_domains_by_organisation ON smtp_sender_domains (organisation_id);

CREATE TABLE smtp_relay_networks (
    organisation_id  UUID NOT NULL REFERENCES organisations (id),
    network          TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organisation_id, network)
);

-- How an organisation's mail becomes notices (per Suomi.fi service once an organisation has
-- several). The bridge account authors those notices: a user row that cannot sign in.
CREATE TABLE smtp_settings (
    organisation_id  UUID PRIMARY KEY NOT NULL REFERENCES organisations (id),
    bridge_user_id   UUID NOT NULL REFERENCES users (id),
    notice_type      TEXT NOT NULL DEFAULT 'notification',
    verifiable       BOOLEAN NOT NULL DEFAULT FALSE,
    draft_mode       BOOLEAN NOT NULL DEFAULT FALSE,
    language         TEXT NOT NULL DEFAULT 'fi',
    -- Mails back to the sender when a notice is sent, read, its receipt confirmed.
    acknowledgements BOOLEAN NOT NULL DEFAULT FALSE,
    -- Where citizens' replies to mailed notices are forwarded as mail (none: not forwarded).
    replies_to       TEXT
);

-- One row per mail accepted (after `250` to DATA). The raw mail is sealed in the blob store
-- under raw_sha256 (the hash of the sealed bytes); the envelope recipients are sealed here.
-- state: received → queued (a notice) | drafted (a draft) | refused (nothing sent; see outcome).
CREATE TABLE smtp_messages (
    id                 UUID PRIMARY KEY NOT NULL,
    organisation_id    UUID NOT NULL REFERENCES organisations (id),
    message_key        TEXT NOT NULL,
    raw_sha256         TEXT NOT NULL,
    size_bytes         BIGINT NOT NULL,
    envelope_from      TEXT NOT NULL,
    recipients_sealed  BYTEA NOT NULL,
    recipient_count    INTEGER NOT NULL,
    client_ip          TEXT NOT NULL,
    helo               TEXT NOT NULL,
    tls                BOOLEAN NOT NULL,
    received_at        TIMESTAMPTZ NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('received', 'queued', 'drafted', 'refused')),
    notice_id          UUID REFERENCES notices (id),
    draft_id           UUID,
    outcome            TEXT NOT NULL DEFAULT '{}',
    settled_at         TIMESTAMPTZ
);
CREATE INDEX smtp_messages_by_organisation ON smtp_messages (organisation_id, received_at);

-- Each recipient of a mail once: the same mail (its Message-ID, or without one the hash of
-- its bytes) received again adds nothing for a recipient it had. Lookup hashes, not codes.
CREATE TABLE smtp_message_recipients (
    organisation_id   UUID NOT NULL REFERENCES organisations (id),
    message_key       TEXT NOT NULL,
    recipient_lookup  BYTEA NOT NULL,
    smtp_message_id   UUID NOT NULL REFERENCES smtp_messages (id),
    PRIMARY KEY (organisation_id, message_key, recipient_lookup)
);

-- SMTP AUTH for clients that are not on a relay network (a case system sending directly):
-- a name and a random secret shown once, kept as its SHA-256 (the secret is 256 random bits,
-- so a fast hash is enough). Revoked credentials stay, for the audit trail.
CREATE TABLE smtp_credentials (
    id               UUID PRIMARY KEY NOT NULL,
    organisation_id  UUID NOT NULL REFERENCES organisations (id),
    name             TEXT NOT NULL UNIQUE,
    secret_sha256    TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    last_used_at     TIMESTAMPTZ,
    revoked_at       TIMESTAMPTZ
);

-- Acknowledgements sent for a mailed notice's deliveries: each milestone (sent, read,
-- receipt_confirmed) once per delivery.
CREATE TABLE smtp_acknowledgements (
    id               UUID PRIMARY KEY NOT NULL,
    organisation_id  UUID NOT NULL REFERENCES organisations (id),
    smtp_message_id  UUID NOT NULL REFERENCES smtp_messages (id),
    delivery_id      UUID NOT NULL REFERENCES deliveries (id),
    milestone        TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (delivery_id, milestone)
);

-- An official's reply by mail to a forwarded citizen message goes to Suomi.fi as a reply.
ALTER TABLE notices ADD COLUMN in_reply_to_message_id BIGINT;

-- Citizens' messages forwarded as mail (to the organisation's replies address), each once.
CREATE TABLE smtp_forwarded_replies (
    reply_id         UUID PRIMARY KEY NOT NULL REFERENCES citizen_replies (id),
    organisation_id  UUID NOT NULL REFERENCES organisations (id),
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX smtp_messages_by_notice ON smtp_messages (notice_id);

-- Kept as long as the notices' proof: nothing deletes a mail.
CREATE TRIGGER smtp_messages_no_delete BEFORE DELETE ON smtp_messages
FOR EACH ROW EXECUTE FUNCTION proof_append_only();
