-- Rejects keyed by file as well as by content (issue 23): two identical files rated in one run are two
-- files, each with its own rejects, listed under its own name in rejected.csv and cdr rejects, as
-- summary.json counts them. The content (source_checksum) stays in the key, so that a rotated Master.csv
-- (same name, other content) still never overwrites an older reject.
CREATE TABLE rejected_record_by_file (
  source_checksum TEXT NOT NULL,
  line            INTEGER NOT NULL,
  source          TEXT NOT NULL,
  reason          TEXT NOT NULL,
  detail          TEXT NOT NULL,
  raw             TEXT NOT NULL,
  raw_encoding    TEXT NOT NULL DEFAULT '',
  run_id          INTEGER,
  seen_at         INTEGER NOT NULL,
  PRIMARY KEY (source_checksum, source, line)
);
INSERT INTO rejected_record_by_file (source_checksum, line, source, reason, detail, raw, raw_encoding, run_id, seen_at)
  SELECT source_checksum, line, source, reason, detail, raw, raw_encoding, run_id, seen_at FROM rejected_record;
DROP TABLE rejected_record;
ALTER TABLE rejected_record_by_file RENAME TO rejected_record;
CREATE INDEX IF NOT EXISTS rejected_run ON rejected_record (run_id);
