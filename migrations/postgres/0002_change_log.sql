-- Replicas (issue 6): every write that changes what the snapshot shows appends one row here in
-- its own transaction and sends NOTIFY gridcircle_changes with the seq. Writers take one
-- transaction-level advisory lock first, so rows commit in seq order: a replica that has
-- applied every row up to seq N catches up with `WHERE seq > N ORDER BY seq`.
--   origin  the replica (process) that wrote it, so it skips its own changes;
--   layers  what to reload: facilities, grids, communities, street_offices, circles, all.
CREATE TABLE change_log (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at text NOT NULL,
    origin text NOT NULL,
    layers text[] NOT NULL
);
