-- Corrections to the core (legal service rules and security hardening).

-- A decision's content as HL 44 § lists it, and the electronic body exactly as sent: the
-- decision header and the appeal instructions travel in every channel (HL 46–47 §).
ALTER TABLE notices ADD COLUMN decision_date TEXT;
ALTER TABLE notices ADD COLUMN decision_maker TEXT;
-- JSON list of the parties' names.
ALTER TABLE notices ADD COLUMN parties TEXT;
ALTER TABLE notices ADD COLUMN contact_person TEXT;
ALTER TABLE notices ADD COLUMN contact_details TEXT;
ALTER TABLE notices ADD COLUMN automated_decision BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE notices ADD COLUMN electronic_body TEXT;

-- The recipient's protection flags as typed columns (were read leniently from the facts JSON).
ALTER TABLE deliveries ADD COLUMN address_protected BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE deliveries ADD COLUMN content_not_for_others BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE deliveries ADD COLUMN recipient_minor BOOLEAN NOT NULL DEFAULT FALSE;
-- Suomi.fi could not be asked when composing: the send job asks before sending.
ALTER TABLE deliveries ADD COLUMN mailbox_check_deferred BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE deliveries SET
    address_protected = COALESCE(json_extract(facts, '$.facts.address_protected'), 0),
    content_not_for_others = COALESCE(json_extract(facts, '$.facts.content_not_for_others'), 0),
    recipient_minor = COALESCE(json_extract(facts, '$.facts.is_minor'), 0);
-- Masked identity codes show the birth date only.
UPDATE deliveries SET identity_masked = substr(identity_masked, 1, 7) || '****'
WHERE identity_kind = 'person' AND identity_masked IS NOT NULL;

-- Service staff make and record themselves: the onward forwarding of a turvakielto letter,
-- substitute service (HL 61 §) and public notice (HL 62 §). The latest record of a delivery
-- counts; earlier ones stay as they were written.
CREATE TABLE service_records (
    id               BLOB PRIMARY KEY NOT NULL,
    organisation_id  BLOB NOT NULL REFERENCES organisations (id),
    delivery_id      BLOB NOT NULL REFERENCES deliveries (id),
    kind             TEXT NOT NULL CHECK (kind IN ('forwarding', 'substitute_service', 'public_notice')),
    method           TEXT,
    served_on        TEXT NOT NULL,
    receipt_on       TEXT,
    reference        TEXT,
    recorded_by      BLOB REFERENCES users (id),
    recorded_at      TEXT NOT NULL
);
CREATE INDEX service_records_by_delivery ON service_records (delivery_id, recorded_at);
CREATE TRIGGER service_records_no_update BEFORE UPDATE ON service_records
BEGIN SELECT RAISE(ABORT, 'service records are append-only'); END;
CREATE TRIGGER service_records_no_delete BEFORE DELETE ON service_records
BEGIN SELECT RAISE(ABORT, 'service records are append-only'); END;

-- Failed sign-ins are pruned after their window: an index on the time alone.
CREATE INDEX login_attempts_by_time ON login_attempts (attempted_at);
