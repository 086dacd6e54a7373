-- Notifications (issue 21 part 3): one row per notice (an alert, an automatic lock, a case) and channel
-- (webhook:NAME, email:NAME of config/notifications.yaml), written before any attempt, so that a restart
-- resumes what was not delivered and the same notice is delivered once per channel. The body is the JSON
-- the webhook receives (no secret: signatures are made at each attempt).
CREATE TABLE IF NOT EXISTS notification_delivery (
  notice_id       text NOT NULL,
  channel         text NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('alert', 'lock', 'case')),
  subject_id      text NOT NULL,
  body            text NOT NULL,
  state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  last_attempt_at timestamptz,
  last_error      text NOT NULL DEFAULT '',
  created_at      timestamptz NOT NULL,
  delivered_at    timestamptz,
  PRIMARY KEY (notice_id, channel)
);
-- The delivery loop's look for due rows, off the delivered and failed ones.
CREATE INDEX IF NOT EXISTS notification_delivery_due ON notification_delivery (next_attempt_at) WHERE state = 'pending';
-- The desk's delivery log, newest first.
CREATE INDEX IF NOT EXISTS notification_delivery_created ON notification_delivery (created_at);
