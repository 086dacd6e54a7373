-- The desk's search by number without a per-call index, as the embedded store does since its migration 019.
-- 017's (callee, start_time) and (caller, start_time) indexes took every rated row at a random place of two
-- trees as large as the month: measured with pg_walinspect, 62 of the 144 MB of WAL that 17,000 calls wrote
-- right after a checkpoint were their full pages, and without them the streaming bench's PostgreSQL spent
-- 35–41 µs a CDR against 44–58, day 31's alerts p99 594–1,157 ms against 1,046–1,488 (issue 22).
-- call_number keeps each (number, user, month) once: a number is called ~9 times a month, a user's own
-- numbers every day, so a day's calls add few rows to a small tree. A search goes number → users' months →
-- those months' calls newest first along rated_cdr_scope_month, which now ends with start_time (a user's
-- calls arrive mostly in time order: no scattered writes for it).
CREATE TABLE IF NOT EXISTS call_number (
  number    text NOT NULL,
  client_id text NOT NULL,
  user_id   text NOT NULL,
  period    text NOT NULL,
  PRIMARY KEY (number, client_id, user_id, period)
);

INSERT INTO call_number (number, client_id, user_id, period)
  SELECT callee, client_id, user_id, period FROM rated_cdr
  UNION SELECT caller, client_id, user_id, period FROM rated_cdr
ON CONFLICT DO NOTHING;

-- In the schema, as SQLite's trigger: every path that inserts calls (the raters' COPY, a test's INSERT)
-- keeps the search whole. Once a statement, over the rows it inserted: a COPY of a batch is one join.
CREATE OR REPLACE FUNCTION rated_cdr_numbers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO call_number (number, client_id, user_id, period)
    SELECT callee, client_id, user_id, period FROM new_calls
    UNION SELECT caller, client_id, user_id, period FROM new_calls
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS rated_cdr_numbers ON rated_cdr;
CREATE TRIGGER rated_cdr_numbers AFTER INSERT ON rated_cdr REFERENCING NEW TABLE AS new_calls
  FOR EACH STATEMENT EXECUTE FUNCTION rated_cdr_numbers();

DROP INDEX IF EXISTS rated_cdr_callee;
DROP INDEX IF EXISTS rated_cdr_caller;
DROP INDEX IF EXISTS rated_cdr_scope_month;
CREATE INDEX rated_cdr_scope_month ON rated_cdr (client_id, period, user_id, start_time);
