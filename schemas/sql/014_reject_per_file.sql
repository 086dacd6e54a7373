-- Rejects keyed by file as well as by content (issue 23), as in the embedded store: two identical files
-- are two files, each with its own rejects; a rotated file (same name, other content) still never
-- overwrites an older reject.
ALTER TABLE rejected_record DROP CONSTRAINT IF EXISTS rejected_record_pkey;
ALTER TABLE rejected_record ADD PRIMARY KEY (source_checksum, source, line);
