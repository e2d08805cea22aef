-- Organisation admin: business IDs name organisations for the operator's commands, and
-- one-time links let a new user choose a password (or an admin reset one) without mail.
ALTER TABLE organisations ADD COLUMN business_id TEXT;
CREATE UNIQUE INDEX organisations_by_business_id ON organisations (business_id);

-- A link's token is kept as its SHA-256 only; used once, before it expires.
CREATE TABLE password_links (
    token_sha256  TEXT PRIMARY KEY NOT NULL,
    user_id       BLOB NOT NULL REFERENCES users (id),
    purpose       TEXT NOT NULL CHECK (purpose IN ('welcome', 'reset')),
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    used_at       TEXT
);
CREATE INDEX password_links_by_user ON password_links (user_id);
