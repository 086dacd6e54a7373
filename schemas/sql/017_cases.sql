-- Cases, search and bulk work on alerts (issue 20). PostgreSQL twin of schemas/sqlite/017_cases.sql.

-- A case: the alerts of one incident of one client (and one user, when they all name the same one).
-- The table is fraud_case because CASE is an SQL keyword. client_id, site_id, user_id are the scope the
-- case's alerts share ('' when they differ: a case over several users of a client has user_id '').
-- state: new → investigating → resolved (services/store/desk/fraud-cases.ts has the moves).
CREATE TABLE IF NOT EXISTS fraud_case (
  case_id     text PRIMARY KEY,
  client_id   text NOT NULL,
  site_id     text NOT NULL,
  user_id     text NOT NULL,
  title       text NOT NULL,
  state       text NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'investigating', 'resolved')),
  resolution  text NOT NULL DEFAULT '',
  owner       text NOT NULL DEFAULT '',
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS fraud_case_client ON fraud_case (client_id, state);

-- An alert belongs to one case at most (its primary key); detaching deletes the row, the audit keeps it.
CREATE TABLE IF NOT EXISTS case_alert (
  alert_id    text PRIMARY KEY,
  case_id     text NOT NULL REFERENCES fraud_case (case_id),
  attached_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS case_alert_case ON case_alert (case_id);

-- Search by number (callee or caller), latest calls first, without scanning the ledger. Two more
-- indexes for the streaming rater to write per row: the price of finding a number's calls at once.
CREATE INDEX IF NOT EXISTS rated_cdr_callee ON rated_cdr (callee, start_time);
CREATE INDEX IF NOT EXISTS rated_cdr_caller ON rated_cdr (caller, start_time);
-- Search by site or user id among alerts (alert_client serves the client's).
CREATE INDEX IF NOT EXISTS alert_site ON alert (site_id);
CREATE INDEX IF NOT EXISTS alert_user ON alert (user_id);

-- The audit trail admits subject_type 'case'. Changing a CHECK rewrites no row (the append-only
-- triggers fire on none): the new constraint is checked against the rows, that is all.
ALTER TABLE audit_event DROP CONSTRAINT IF EXISTS audit_event_subject_type_check;
ALTER TABLE audit_event ADD CONSTRAINT audit_event_subject_type_check
  CHECK (subject_type IN ('alert', 'lock', 'month', 'token', 'case'));
