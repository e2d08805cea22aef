-- A notice queued over the API keeps the SHA-256 of the request that queued it, written in
-- the notice's own transaction: the notice is its own record of the Idempotency-Key (it keeps
-- the key as its compose key), so a repeat is answered from it and another body under the key
-- is refused, with nothing written beside it.
ALTER TABLE notices ADD COLUMN request_sha256 TEXT;

-- Notices queued before: the fingerprint their key's answer kept (the answered one first).
UPDATE notices SET request_sha256 = (
    SELECT r.request_sha256
    FROM api_requests r JOIN api_keys k ON k.id = r.api_key_id
    WHERE k.organisation_id = notices.organisation_id
      AND k.account_id = notices.author_id
      AND r.idempotency_key = substr(notices.idempotency_key, 5)
    ORDER BY r.response_status IS NULL, r.created_at
    LIMIT 1
)
WHERE idempotency_key LIKE 'api:%';
