-- API keys of case-management systems (`/api/v1`): kept as SHA-256 only, shown once when made,
-- revocable, their last use kept. Each key has an account (a user row that cannot sign in)
-- that authors the notices it sends, so they read "by <key's name>" like any notice's author.
CREATE TABLE api_keys (
    id              UUID PRIMARY KEY NOT NULL,
    organisation_id UUID NOT NULL REFERENCES organisations (id),
    name            TEXT NOT NULL,
    key_sha256      TEXT NOT NULL UNIQUE,
    -- The key's first characters, to tell keys apart in lists.
    prefix          TEXT NOT NULL,
    account_id      UUID NOT NULL REFERENCES users (id),
    -- The Suomi.fi service its notices go through; NULL: the organisation's default.
    service_id      UUID REFERENCES suomifi_services (id),
    created_at      TIMESTAMPTZ NOT NULL,
    revoked_at      TIMESTAMPTZ,
    last_used_at    TIMESTAMPTZ
);
CREATE INDEX api_keys_by_organisation ON api_keys (organisation_id);
