-- Whether a run's folder under --out holds everything the run committed (issue 23). A run commits its
-- calls to the store, then exports them: a full or unwritable --out used to leave billed calls in the
-- store and in no rated.csv, with nothing to say so and no later run trying again. exported_at is set
-- once the folder is in place; until then the run is "not exported" (cdr runs), and the next cdr rate
-- that can write exports it. export_error keeps what went wrong the last time, for cdr runs to show.
ALTER TABLE run ADD COLUMN exported_at INTEGER;
ALTER TABLE run ADD COLUMN export_error TEXT;
-- A run marked committed before this column had exported its folder first (the order of the old code).
-- An interrupted run's export was tried once at the next start and never again: it is tried once more.
UPDATE run SET exported_at = finished_at WHERE status = 'committed';
