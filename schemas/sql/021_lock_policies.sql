-- Policies that act (issue 21): an alert's rule may lock the accounts in its scope at once (config/fraud.yaml
-- policies). A lock records the rule and alert that set it ('' when a person did) and when it lifts by itself
-- (NULL: when a person lifts it).
ALTER TABLE account_lock ADD COLUMN IF NOT EXISTS rule text NOT NULL DEFAULT '';
ALTER TABLE account_lock ADD COLUMN IF NOT EXISTS alert_id text NOT NULL DEFAULT '';
ALTER TABLE account_lock ADD COLUMN IF NOT EXISTS expires_at timestamptz;

-- Each alert is reacted to once (a lock, a notification, or nothing), whichever `cdr serve` saw it first
-- and however often it restarts; the reactions look at alerts created since their lookback.
CREATE TABLE IF NOT EXISTS alert_reaction (
  alert_id   text PRIMARY KEY,
  reacted_at timestamptz NOT NULL,
  outcome    text NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_created_at ON alert (created_at);
