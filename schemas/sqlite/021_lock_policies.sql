-- Policies that act (issue 21), SQLite twin of schemas/sql/021_lock_policies.sql: the rule and alert that
-- set a lock ('' when a person did) and when it lifts by itself (NULL: when a person lifts it).
ALTER TABLE account_lock ADD COLUMN rule text NOT NULL DEFAULT '';
ALTER TABLE account_lock ADD COLUMN alert_id text NOT NULL DEFAULT '';
ALTER TABLE account_lock ADD COLUMN expires_at INTEGER;

-- Each alert is reacted to once (a lock, a notification, or nothing), however often `cdr serve` restarts.
CREATE TABLE IF NOT EXISTS alert_reaction (
  alert_id   text PRIMARY KEY,
  reacted_at INTEGER NOT NULL,
  outcome    text NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_created_at ON alert (created_at);
