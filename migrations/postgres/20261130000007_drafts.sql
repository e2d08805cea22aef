-- Notices being composed, saved on the server so a caseworker can leave and come back. A
-- draft holds identity codes and addresses: its content is sealed like theirs. Its problems
-- (field names and codes, no personal data) are kept so the page shows them after a post.
CREATE TABLE drafts (
    id               UUID PRIMARY KEY NOT NULL,
    organisation_id  UUID NOT NULL REFERENCES organisations (id),
    author_id        UUID NOT NULL REFERENCES users (id),
    title            TEXT NOT NULL,
    content_sealed   BYTEA NOT NULL,
    problems         TEXT NOT NULL DEFAULT '[]',
    notice_id        UUID REFERENCES notices (id),
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX drafts_by_author ON drafts (organisation_id, author_id, updated_at);
