-- Authorization at call setup (issue 21), SQLite twin of schemas/sql/020_call_authorization.sql.
-- A token of role `switch` may ask /api/v1/authorize and nothing else: SQLite cannot change a CHECK,
-- so the token table is copied into one that admits the role.
CREATE TABLE api_token_020 (
  name        text PRIMARY KEY,
  role        text NOT NULL CHECK (role IN ('analyst', 'invoicing', 'admin', 'switch')),
  token_hash  text NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER
);
INSERT INTO api_token_020 (name, role, token_hash, created_at, revoked_at) SELECT name, role, token_hash, created_at, revoked_at FROM api_token;
DROP TABLE api_token;
ALTER TABLE api_token_020 RENAME TO api_token;

-- Refused setups, kept for the desk: a refused call never becomes a CDR, so this row is its only evidence.
CREATE TABLE IF NOT EXISTS call_decision (
  decision_id INTEGER PRIMARY KEY AUTOINCREMENT,
  at          INTEGER NOT NULL,
  account     text NOT NULL,
  client_id   text NOT NULL,
  caller      text NOT NULL,
  callee      text NOT NULL,
  call_id     text NOT NULL,
  decision    text NOT NULL CHECK (decision IN ('allow', 'deny')),
  reason      text NOT NULL,
  detail      text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS call_decision_account ON call_decision (account, at);
CREATE INDEX IF NOT EXISTS call_decision_client ON call_decision (client_id, at);

-- Calls let through and not yet ended, checkpointed every second (simultaneous calls survive a restart).
CREATE TABLE IF NOT EXISTS call_in_progress (
  call_id    text PRIMARY KEY,
  account    text NOT NULL,
  started_at INTEGER NOT NULL
);
