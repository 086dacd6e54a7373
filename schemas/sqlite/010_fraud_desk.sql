-- The fraud desk and invoicing (issue 10), SQLite twin of schemas/sql/010_fraud_desk.sql.
-- Times are epoch milliseconds (as everywhere in the embedded store); amounts never appear here.

CREATE TABLE IF NOT EXISTS api_token (
  name        text PRIMARY KEY,
  role        text NOT NULL CHECK (role IN ('analyst', 'invoicing', 'admin')),
  token_hash  text NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER
);

CREATE TABLE IF NOT EXISTS audit_event (
  event_id     INTEGER PRIMARY KEY AUTOINCREMENT,
  at           INTEGER NOT NULL,
  actor        text NOT NULL,
  subject_type text NOT NULL CHECK (subject_type IN ('alert', 'lock', 'month', 'token')),
  subject_id   text NOT NULL,
  action       text NOT NULL,
  from_state   text NOT NULL,
  to_state     text NOT NULL,
  detail       text NOT NULL DEFAULT '',
  comment      text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_event_subject ON audit_event (subject_type, subject_id, event_id);

-- Append-only: the store itself refuses to change or remove an event.
CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN
  SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused');
END;
CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN
  SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused');
END;

ALTER TABLE alert ADD COLUMN resolution text NOT NULL DEFAULT '';

CREATE TABLE IF NOT EXISTS account_lock (
  account     text PRIMARY KEY,
  client_id   text NOT NULL,
  site_id     text NOT NULL,
  user_id     text NOT NULL,
  level       text NOT NULL CHECK (level IN ('none', 'foreign', 'outgoing', 'all')),
  reason      text NOT NULL,
  set_at      INTEGER NOT NULL,
  set_by      text NOT NULL
);

CREATE TABLE IF NOT EXISTS month_close (
  client_id           text NOT NULL,
  period              text NOT NULL,
  closed_at           INTEGER NOT NULL,
  closed_by           text NOT NULL,
  last_rated_seq      integer NOT NULL,
  last_adjustment_seq integer NOT NULL,
  invoice             text NOT NULL,
  PRIMARY KEY (client_id, period)
);
