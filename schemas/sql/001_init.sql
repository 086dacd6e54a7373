-- The PostgreSQL schema (production and the streaming runtime); the embedded store's is schemas/sqlite.

-- Every rated call, with what rating needs to rebuild the month's counters after a restart.
CREATE TABLE IF NOT EXISTS rated_cdr (
  cdr_id            text PRIMARY KEY,
  client_id         text NOT NULL,
  site_id           text NOT NULL,
  user_id           text NOT NULL,
  plan_id           text NOT NULL,
  account           text NOT NULL,
  line_type         text NOT NULL,
  channels          integer NOT NULL,
  automated         boolean NOT NULL,
  period            text NOT NULL,
  start_time        timestamptz NOT NULL,
  answer_time       timestamptz,
  end_time          timestamptz NOT NULL,
  caller            text NOT NULL,
  callee            text NOT NULL,
  destination_class text NOT NULL,
  country           text NOT NULL,
  billable_seconds  integer NOT NULL,
  disposition       text NOT NULL,
  direction         text NOT NULL,
  leg               text NOT NULL,
  forward_reason    text,
  device            text NOT NULL,
  in_bundle         boolean NOT NULL,
  priced_seconds    integer NOT NULL,
  amount            numeric NOT NULL,
  currency          text NOT NULL,
  reason            text NOT NULL,
  source            text NOT NULL,
  source_line       integer NOT NULL,
  rated_at          timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS rated_cdr_client_period ON rated_cdr (client_id, period);

-- A change of price of a call already billed: invoices are corrected, never rewritten.
CREATE TABLE IF NOT EXISTS adjustment (
  adjustment_id   bigserial PRIMARY KEY,
  cdr_id          text NOT NULL REFERENCES rated_cdr (cdr_id),
  period          text NOT NULL,
  previous_amount numeric NOT NULL,
  new_amount      numeric NOT NULL,
  delta           numeric NOT NULL,
  reason          text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS adjustment_cdr ON adjustment (cdr_id);

-- Alerts for the fraud desk; status is the desk's, the rest is the detectors'.
CREATE TABLE IF NOT EXISTS alert (
  alert_id    text PRIMARY KEY,
  rule        text NOT NULL,
  severity    text NOT NULL,
  client_id   text NOT NULL,
  site_id     text NOT NULL,
  user_id     text NOT NULL,
  first_seen  timestamptz NOT NULL,
  last_seen   timestamptz NOT NULL,
  value       numeric NOT NULL,
  threshold   numeric NOT NULL,
  cdr_ids     jsonb NOT NULL,
  message     text NOT NULL,
  status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS alert_client ON alert (client_id, rule);

-- Records that could not be used, kept whole for replay once fixed.
CREATE TABLE IF NOT EXISTS rejected_record (
  source      text NOT NULL,
  line        integer NOT NULL,
  reason      text NOT NULL,
  detail      text NOT NULL,
  raw         text NOT NULL,
  seen_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, line)
);

-- Consumed positions, committed in the same transaction as the results they produced.
CREATE TABLE IF NOT EXISTS consumer_offset (
  group_id    text NOT NULL,
  topic       text NOT NULL,
  partition   integer NOT NULL,
  next_offset bigint NOT NULL,
  PRIMARY KEY (group_id, topic, partition)
);
