-- State is counters, not history (issue 9): the streaming runtime keeps, per clause, scope and month, what
-- rating the next call needs, and per client the fraud detectors' recent windows. The rated calls stay the
-- ledger; a worker reads them back only for the one scope a late call or a retroactive crossing moves.

-- What each call's share was under each clause ("0:60;pool:30"), for re-pricing one scope's month.
ALTER TABLE rated_cdr ADD COLUMN IF NOT EXISTS shares text NOT NULL DEFAULT '';
-- What rated.csv / cdr.rated said the call cost when first billed; amount is its price after adjustments.
ALTER TABLE rated_cdr ADD COLUMN IF NOT EXISTS first_amount numeric;
UPDATE rated_cdr SET first_amount = amount WHERE first_amount IS NULL;
-- Insertion order, for invoicing's month close; run_id is the embedded runtime's (NULL here).
ALTER TABLE rated_cdr ADD COLUMN IF NOT EXISTS seq bigserial;
ALTER TABLE rated_cdr ADD COLUMN IF NOT EXISTS run_id bigint;
CREATE INDEX IF NOT EXISTS rated_cdr_scope_month ON rated_cdr (client_id, period, user_id);

-- Invoicing groups adjustments by client without the rated row (issue 13).
ALTER TABLE adjustment ADD COLUMN IF NOT EXISTS client_id text NOT NULL DEFAULT '';
ALTER TABLE adjustment ADD COLUMN IF NOT EXISTS site_id text NOT NULL DEFAULT '';
ALTER TABLE adjustment ADD COLUMN IF NOT EXISTS user_id text NOT NULL DEFAULT '';
ALTER TABLE adjustment ADD COLUMN IF NOT EXISTS plan_id text NOT NULL DEFAULT '';
ALTER TABLE adjustment ADD COLUMN IF NOT EXISTS run_id bigint;
ALTER TABLE adjustment ADD COLUMN IF NOT EXISTS seq bigserial;
UPDATE adjustment a SET client_id = r.client_id, site_id = r.site_id, user_id = r.user_id, plan_id = r.plan_id
  FROM rated_cdr r WHERE a.cdr_id = r.cdr_id AND a.client_id = '';
CREATE INDEX IF NOT EXISTS adjustment_month ON adjustment (client_id, period);

ALTER TABLE alert ADD COLUMN IF NOT EXISTS run_id bigint;

CREATE TABLE IF NOT EXISTS counter_state (
  key        text PRIMARY KEY,
  client_id  text NOT NULL,
  site_id    text NOT NULL,
  user_id    text NOT NULL,
  scope      text NOT NULL,
  scope_key  text NOT NULL,
  period     text NOT NULL,
  rule       text NOT NULL,
  value      double precision NOT NULL,
  threshold  double precision NOT NULL,
  crossed_at timestamptz,
  state      text NOT NULL
);
CREATE INDEX IF NOT EXISTS counter_state_client ON counter_state (client_id, period);

CREATE TABLE IF NOT EXISTS fraud_state (
  client_id text PRIMARY KEY,
  state     text NOT NULL
);

-- The fraud stage's duplicate filter: the rater publishes at least once, the detectors count a call once.
CREATE TABLE IF NOT EXISTS fraud_seen (
  cdr_id text PRIMARY KEY
);
INSERT INTO fraud_seen (cdr_id) SELECT cdr_id FROM fraud_call ON CONFLICT DO NOTHING;
-- The whole calls the fraud stage used to replay are no longer its state.
DROP TABLE IF EXISTS fraud_call;

-- Rejects keyed by the file's content, so that a rotated Master.csv never overwrites an older reject.
ALTER TABLE rejected_record ADD COLUMN IF NOT EXISTS source_checksum text NOT NULL DEFAULT '';
UPDATE rejected_record SET source_checksum = 'path:' || source WHERE source_checksum = '';
ALTER TABLE rejected_record DROP CONSTRAINT IF EXISTS rejected_record_pkey;
ALTER TABLE rejected_record ADD PRIMARY KEY (source_checksum, line);
ALTER TABLE rejected_record ADD COLUMN IF NOT EXISTS run_id bigint
