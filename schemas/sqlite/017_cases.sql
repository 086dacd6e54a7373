-- Cases, search and bulk work on alerts (issue 20). SQLite twin of schemas/sql/017_cases.sql.
-- Times are epoch milliseconds.

-- A case: the alerts of one incident of one client (and one user, when they all name the same one).
-- The table is fraud_case because CASE is an SQL keyword. client_id, site_id, user_id are the scope the
-- case's alerts share ('' when they differ: a case over several users of a client has user_id '').
-- state: new → investigating → resolved (services/store/desk/fraud-cases.ts has the moves).
CREATE TABLE IF NOT EXISTS fraud_case (
  case_id     TEXT PRIMARY KEY,
  client_id   TEXT NOT NULL,
  site_id     TEXT NOT NULL,
  user_id     TEXT NOT NULL,
  title       TEXT NOT NULL,
  state       TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'investigating', 'resolved')),
  resolution  TEXT NOT NULL DEFAULT '',
  owner       TEXT NOT NULL DEFAULT '',
  created_by  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS fraud_case_client ON fraud_case (client_id, state);

-- An alert belongs to one case at most (its primary key); detaching deletes the row, the audit keeps it.
CREATE TABLE IF NOT EXISTS case_alert (
  alert_id    TEXT PRIMARY KEY,
  case_id     TEXT NOT NULL REFERENCES fraud_case (case_id),
  attached_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS case_alert_case ON case_alert (case_id);

-- Search by number (callee or caller), latest calls first, without scanning the ledger.
CREATE INDEX IF NOT EXISTS rated_call_callee ON rated_call (callee, start_time);
CREATE INDEX IF NOT EXISTS rated_call_caller ON rated_call (caller, start_time);
-- Search by site or user id among alerts (alert_client serves the client's).
CREATE INDEX IF NOT EXISTS alert_site ON alert (site_id);
CREATE INDEX IF NOT EXISTS alert_user ON alert (user_id);

-- The audit trail admits subject_type 'case'. SQLite cannot change a CHECK in place: the table is
-- rebuilt with every row copied as it is (ids, seq, hashes: the chain is the same chain), then its
-- indexes and triggers are made again as 010 and 015 made them. The head's guard names audit_event in
-- its body, so it goes first and comes back last (a rename checks every trigger of the schema).
DROP TRIGGER IF EXISTS audit_chain_head_forward_only;
CREATE TABLE audit_event_017 (
  event_id     INTEGER PRIMARY KEY AUTOINCREMENT,
  at           INTEGER NOT NULL,
  actor        text NOT NULL,
  subject_type text NOT NULL CHECK (subject_type IN ('alert', 'lock', 'month', 'token', 'case')),
  subject_id   text NOT NULL,
  action       text NOT NULL,
  from_state   text NOT NULL,
  to_state     text NOT NULL,
  detail       text NOT NULL DEFAULT '',
  comment      text NOT NULL DEFAULT '',
  seq          INTEGER,
  prev_hash    TEXT,
  hash         TEXT
);
INSERT INTO audit_event_017 (event_id, at, actor, subject_type, subject_id, action, from_state, to_state, detail, comment, seq, prev_hash, hash)
  SELECT event_id, at, actor, subject_type, subject_id, action, from_state, to_state, detail, comment, seq, prev_hash, hash FROM audit_event ORDER BY event_id;
DROP TABLE audit_event;
ALTER TABLE audit_event_017 RENAME TO audit_event;

CREATE INDEX IF NOT EXISTS audit_event_subject ON audit_event (subject_type, subject_id, event_id);
CREATE UNIQUE INDEX IF NOT EXISTS audit_event_seq ON audit_event (seq);

CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event
BEGIN
  SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused');
END;
CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN
  SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused');
END;
CREATE TRIGGER IF NOT EXISTS audit_event_insert_extends_chain BEFORE INSERT ON audit_event
BEGIN
  SELECT RAISE(ABORT, 'audit_event is append-only: an event with this event_id or seq exists (INSERT OR REPLACE, REPLACE INTO and upserts would rewrite it)')
   WHERE EXISTS (SELECT 1 FROM audit_event WHERE event_id = NEW.event_id OR seq = NEW.seq);
  SELECT RAISE(ABORT, 'audit_event is append-only: a new event must extend the chain (seq = the head''s seq + 1, prev_hash = the head''s hash, a SHA-256 hash)')
   WHERE NEW.seq IS NOT (SELECT seq + 1 FROM audit_chain_head WHERE id = 1)
      OR NEW.prev_hash IS NOT (SELECT hash FROM audit_chain_head WHERE id = 1)
      OR NEW.hash IS NULL OR length(NEW.hash) <> 64;
END;
CREATE TRIGGER IF NOT EXISTS audit_event_moves_head AFTER INSERT ON audit_event
BEGIN
  UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS audit_chain_head_forward_only BEFORE UPDATE ON audit_chain_head
WHEN NOT (NEW.id IS OLD.id AND (
       (NEW.seq IS OLD.seq AND NEW.hash IS OLD.hash)
    OR (NEW.seq IS OLD.seq + 1 AND NEW.hash IS (SELECT hash FROM audit_event WHERE seq = NEW.seq))))
BEGIN
  SELECT RAISE(ABORT, 'audit_chain_head only moves forward, onto the event appended after it');
END;
