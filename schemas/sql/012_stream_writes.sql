-- The streaming rater writes every batch: each index on rated_cdr is paid per row, so none is kept twice.
-- (client_id, period) is the prefix of rated_cdr_scope_month (client_id, period, user_id), which serves it.
DROP INDEX IF EXISTS rated_cdr_client_period;
-- A batch asks whether its files hold rejects to clear (a replay): found by file, not by scanning.
CREATE INDEX IF NOT EXISTS rejected_record_source ON rejected_record (source, line)
