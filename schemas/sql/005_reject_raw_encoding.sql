-- A record that is not clean UTF-8 text (invalid bytes, NUL, control bytes) is kept as base64 of its
-- bytes: raw_encoding says so ('' = raw is the text itself), so that the original can be recovered exactly.
ALTER TABLE rejected_record ADD COLUMN IF NOT EXISTS raw_encoding text NOT NULL DEFAULT '';
