-- The embedded store (SQLite, WAL): the same store contract as PostgreSQL (schemas/sql), laid out for
-- size. Times are epoch milliseconds, amounts exact decimal text (never summed by SQLite), booleans 0/1.

-- Every run of `cdr rate`: its files, counts and outcome; outputs are an export of what it committed.
CREATE TABLE IF NOT EXISTS run (
  run_id      INTEGER PRIMARY KEY,
  started_at  INTEGER NOT NULL,
  finished_at INTEGER,
  status      TEXT NOT NULL CHECK (status IN ('running', 'committed', 'interrupted')),
  host        TEXT NOT NULL,
  pid         INTEGER NOT NULL,
  files       TEXT NOT NULL,
  counts      TEXT NOT NULL DEFAULT '{}',
  out_dir     TEXT NOT NULL,
  -- Runs write one at a time (the writer lock): a run's calls are the ledger's rows from first_seq on.
  first_seq   INTEGER NOT NULL
);

-- Who a call belongs to, as the directory said when it was rated: stored once, referenced by every call.
CREATE TABLE IF NOT EXISTS party (
  party_id   INTEGER PRIMARY KEY,
  account    TEXT NOT NULL,
  client_id  TEXT NOT NULL,
  site_id    TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  plan_id    TEXT NOT NULL,
  line_type  TEXT NOT NULL,
  channels   INTEGER NOT NULL,
  automated  INTEGER NOT NULL,
  UNIQUE (account, client_id, site_id, user_id, plan_id, line_type, channels, automated)
);
CREATE INDEX IF NOT EXISTS party_client ON party (client_id);

CREATE TABLE IF NOT EXISTS source_file (
  source_id INTEGER PRIMARY KEY,
  path      TEXT NOT NULL UNIQUE
);

-- The ledger: every rated call, its current price and the price rated.csv first gave it.
CREATE TABLE IF NOT EXISTS rated_call (
  seq              INTEGER PRIMARY KEY,
  cdr_id           TEXT NOT NULL UNIQUE,
  run_id           INTEGER,
  party_id         INTEGER NOT NULL REFERENCES party (party_id),
  period           TEXT NOT NULL,
  start_time       INTEGER NOT NULL,
  answer_time      INTEGER,
  end_time         INTEGER NOT NULL,
  caller           TEXT NOT NULL,
  caller_original  TEXT NOT NULL,
  callee           TEXT NOT NULL,
  destination_class TEXT NOT NULL,
  country          TEXT NOT NULL,
  billable_seconds INTEGER NOT NULL,
  disposition      TEXT NOT NULL,
  direction        TEXT NOT NULL,
  leg              TEXT NOT NULL,
  forward_reason   TEXT,
  device           TEXT NOT NULL,
  in_bundle        INTEGER NOT NULL,
  priced_seconds   INTEGER NOT NULL,
  amount           TEXT NOT NULL,
  first_amount     TEXT NOT NULL,
  currency         TEXT NOT NULL,
  reason           TEXT NOT NULL,
  shares           TEXT NOT NULL,
  source_id        INTEGER NOT NULL REFERENCES source_file (source_id),
  source_line      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS rated_call_month ON rated_call (party_id, period);

-- The contract's view of the ledger: the columns PostgreSQL's rated_cdr has, for shared queries.
CREATE VIEW IF NOT EXISTS rated_cdr AS
  SELECT r.seq, r.cdr_id, r.run_id, p.client_id, p.site_id, p.user_id, p.plan_id, p.account, p.line_type, p.channels,
         p.automated, r.period, r.start_time, r.answer_time, r.end_time, r.caller, r.caller_original, r.callee,
         r.destination_class, r.country, r.billable_seconds, r.disposition, r.direction, r.leg, r.forward_reason, r.device,
         r.in_bundle, r.priced_seconds, r.amount, r.first_amount, r.currency, r.reason, r.shares, s.path AS source,
         r.source_line
    FROM rated_call r JOIN party p USING (party_id) JOIN source_file s USING (source_id);

-- A change of price of a call already billed: invoices are corrected, never rewritten.
CREATE TABLE IF NOT EXISTS adjustment (
  seq             INTEGER PRIMARY KEY,
  cdr_id          TEXT NOT NULL,
  client_id       TEXT NOT NULL,
  site_id         TEXT NOT NULL,
  user_id         TEXT NOT NULL,
  plan_id         TEXT NOT NULL,
  period          TEXT NOT NULL,
  previous_amount TEXT NOT NULL,
  new_amount      TEXT NOT NULL,
  delta           TEXT NOT NULL,
  reason          TEXT NOT NULL,
  run_id          INTEGER,
  created_at      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS adjustment_cdr ON adjustment (cdr_id);
CREATE INDEX IF NOT EXISTS adjustment_run ON adjustment (run_id);
CREATE INDEX IF NOT EXISTS adjustment_month ON adjustment (client_id, period);

-- Alerts for the fraud desk; status is the desk's, the rest is the detectors'.
CREATE TABLE IF NOT EXISTS alert (
  alert_id   TEXT PRIMARY KEY,
  rule       TEXT NOT NULL,
  severity   TEXT NOT NULL,
  client_id  TEXT NOT NULL,
  site_id    TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  value      TEXT NOT NULL,
  threshold  TEXT NOT NULL,
  cdr_ids    TEXT NOT NULL,
  message    TEXT NOT NULL,
  status     TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'resolved')),
  run_id     INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alert_client ON alert (client_id, rule);
CREATE INDEX IF NOT EXISTS alert_run ON alert (run_id);

-- Records that could not be used, kept whole for replay once fixed; keyed by the file's content, so a
-- rotated Master.csv or another file of the same name never overwrites an older reject.
CREATE TABLE IF NOT EXISTS rejected_record (
  source_checksum TEXT NOT NULL,
  line            INTEGER NOT NULL,
  source          TEXT NOT NULL,
  reason          TEXT NOT NULL,
  detail          TEXT NOT NULL,
  raw             TEXT NOT NULL,
  -- '' when raw is the record's text; 'base64' when the bytes were not clean text (bad_encoding).
  raw_encoding    TEXT NOT NULL DEFAULT '',
  run_id          INTEGER,
  seen_at         INTEGER NOT NULL,
  PRIMARY KEY (source_checksum, line)
);
CREATE INDEX IF NOT EXISTS rejected_run ON rejected_record (run_id);

-- Fair-use counters per clause, scope and month: what rating the next call needs, and what the desk reads.
CREATE TABLE IF NOT EXISTS counter_state (
  key        TEXT PRIMARY KEY,
  client_id  TEXT NOT NULL,
  site_id    TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  scope      TEXT NOT NULL,
  scope_key  TEXT NOT NULL,
  period     TEXT NOT NULL,
  rule       TEXT NOT NULL,
  value      REAL NOT NULL,
  threshold  REAL NOT NULL,
  crossed_at INTEGER,
  state      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS counter_state_client ON counter_state (client_id, period);

-- The fraud detectors' windows per client (the last two days and the spend baseline).
CREATE TABLE IF NOT EXISTS fraud_state (
  client_id TEXT PRIMARY KEY,
  state     TEXT NOT NULL
);

-- Month totals after adjustments per client, kept as the ledger moves (exact decimal text).
CREATE TABLE IF NOT EXISTS month_total (
  client_id TEXT NOT NULL,
  period    TEXT NOT NULL,
  amount    TEXT NOT NULL,
  PRIMARY KEY (client_id, period)
);
