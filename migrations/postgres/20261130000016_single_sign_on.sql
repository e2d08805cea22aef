-- Single sign-on (OpenID Connect). A user who signs in through the organisation's provider is
-- known by the provider's issuer and subject; their password hash stays unusable.
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX users_by_oidc_subject ON users (oidc_subject);

-- A sign-in under way: used once (deleted when the provider sends the browser back), within
-- ten minutes, from the browser that started it (the binding is in its cookie).
CREATE TABLE oidc_attempts (
    state_sha256   TEXT PRIMARY KEY NOT NULL,
    binding_sha256 TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    pkce_verifier  TEXT NOT NULL,
    next_path      TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX oidc_attempts_by_expiry ON oidc_attempts (expires_at);
