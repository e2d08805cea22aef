-- Loops that are one per installation (reading Suomi.fi's feeds, the acknowledgement watch,
-- password rotation, …) run on one instance at a time: the holder renews its lease every pass;
-- when it stops (a crash, a lost network), another instance takes over once the lease lapses.
CREATE TABLE leader_leases (
    name        TEXT PRIMARY KEY NOT NULL,
    holder      TEXT NOT NULL,
    held_until  TEXT NOT NULL
);
