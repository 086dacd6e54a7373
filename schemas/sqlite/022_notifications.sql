-- Notifications (issue 21 part 3), SQLite twin of schemas/sql/022_notifications.sql: one row per notice
-- and channel, written before any attempt (a restart resumes the pending ones). Times in epoch ms.
CREATE TABLE IF NOT EXISTS notification_delivery (
  notice_id       text NOT NULL,
  channel         text NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('alert', 'lock', 'case')),
  subject_id      text NOT NULL,
  body            text NOT NULL,
  state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_attempt_at INTEGER,
  last_error      text NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL,
  delivered_at    INTEGER,
  PRIMARY KEY (notice_id, channel)
);
CREATE INDEX IF NOT EXISTS notification_delivery_due ON notification_delivery (next_attempt_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS notification_delivery_created ON notification_delivery (created_at);
