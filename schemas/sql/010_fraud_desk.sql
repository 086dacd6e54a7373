-- The fraud desk and invoicing (issue 10): who may call the API, what the desk did, what the switch must bar,
-- and which client months are closed. Times are written by the application as ISO-8601 UTC.

-- API tokens: only the SHA-256 of a random 32-byte token is kept; the token itself is printed once.
CREATE TABLE IF NOT EXISTS api_token (
  name        text PRIMARY KEY,
  role        text NOT NULL CHECK (role IN ('analyst', 'invoicing', 'admin')),
  token_hash  text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL,
  revoked_at  timestamptz
);

-- Every change the desk made (alert status, lock level, month close): appended, never edited.
CREATE TABLE IF NOT EXISTS audit_event (
  event_id     bigserial PRIMARY KEY,
  at           timestamptz NOT NULL,
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

CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP;
END
$$;
DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event;
CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
  FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();

-- How the desk closed an alert (fraud_confirmed, false_positive, customer_contacted, …); empty while open.
ALTER TABLE alert ADD COLUMN IF NOT EXISTS resolution text NOT NULL DEFAULT '';

-- The lock level of an account, in the manner of rate-o-mat: none, foreign (calls abroad barred),
-- outgoing (all outgoing barred), all (incoming and outgoing barred). The switch polls /api/v1/barring.
CREATE TABLE IF NOT EXISTS account_lock (
  account     text PRIMARY KEY,
  client_id   text NOT NULL,
  site_id     text NOT NULL,
  user_id     text NOT NULL,
  level       text NOT NULL CHECK (level IN ('none', 'foreign', 'outgoing', 'all')),
  reason      text NOT NULL,
  set_at      timestamptz NOT NULL,
  set_by      text NOT NULL
);

-- A closed client month: the rows up to these seq numbers, and the invoice they made, forever.
CREATE TABLE IF NOT EXISTS month_close (
  client_id           text NOT NULL,
  period              text NOT NULL,
  closed_at           timestamptz NOT NULL,
  closed_by           text NOT NULL,
  last_rated_seq      bigint NOT NULL,
  last_adjustment_seq bigint NOT NULL,
  -- The invoice as issued (JSON): a closed month shows exactly this, whatever happens to its rows later.
  invoice             text NOT NULL,
  PRIMARY KEY (client_id, period)
);
