-- The rule a delivery's legal dates follow, as data (JSON of `LegalRule`), so the pages can
-- say it in the reader's language; `legal_rule` keeps it in English with its section of law.
ALTER TABLE deliveries ADD COLUMN legal_basis TEXT;
