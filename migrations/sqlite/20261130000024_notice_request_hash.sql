-- A notice queued over the API keeps the SHA-256 of the request that queued it, written in
-- the notice's own transaction: a request under the same Idempotency-Key with another body
-- is refused by it, without a claim written before every request.
ALTER TABLE notices ADD COLUMN request_sha256 TEXT;
