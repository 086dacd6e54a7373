-- Authorization at call setup (issue 21): the switch asks /api/v1/authorize before each call.
-- A token of role `switch` may do that and nothing else.
ALTER TABLE api_token DROP CONSTRAINT IF EXISTS api_token_role_check;
ALTER TABLE api_token ADD CONSTRAINT api_token_role_check CHECK (role IN ('analyst', 'invoicing', 'admin', 'switch'));

-- Refused setups, kept for the desk: a refused call never becomes a CDR, so this row is its only evidence.
-- (Allowed setups are counted in /metrics; the calls they became are rated from the switch's records.)
CREATE TABLE IF NOT EXISTS call_decision (
  decision_id bigserial PRIMARY KEY,
  at          timestamptz NOT NULL,
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

-- Calls let through and not yet ended, checkpointed every second so that a restart of `cdr serve`
-- still counts them against the account's simultaneous calls.
CREATE TABLE IF NOT EXISTS call_in_progress (
  call_id    text PRIMARY KEY,
  account    text NOT NULL,
  started_at timestamptz NOT NULL
);
