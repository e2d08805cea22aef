-- A file's check writes its rows in steps while the request runs. A batch is 'checking' until
-- the check ends, and holds a lease that each step renews: when a crash ends the check
-- midway, the lease runs out and the batch is cancelled as interrupted, its rows'
-- recipients removed, rather than left looking checked with half its rows.
ALTER TABLE batches ADD COLUMN check_lease_until TEXT;
