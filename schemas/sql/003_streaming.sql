-- Streaming runtime: files already ingested, undecodable messages, and the fraud stage's own state.

-- A switch export whose every record the broker acknowledged; the same file (same checksum) is skipped.
CREATE TABLE IF NOT EXISTS ingested_file (
  checksum    text PRIMARY KEY,
  path        text NOT NULL,
  records     integer NOT NULL,
  rejected    integer NOT NULL,
  ingested_at timestamptz NOT NULL DEFAULT now()
);

-- Messages a worker could not decode: kept whole, the worker goes on.
CREATE TABLE IF NOT EXISTS dead_letter (
  topic       text NOT NULL,
  partition   integer NOT NULL,
  "offset"    bigint NOT NULL,
  group_id    text NOT NULL,
  error       text NOT NULL,
  key         text,
  payload     bytea,
  seen_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition, "offset")
);

-- The calls the fraud stage has observed (its state store, rebuilt from here after a restart).
CREATE TABLE IF NOT EXISTS fraud_call (
  cdr_id      text PRIMARY KEY,
  client_id   text NOT NULL,
  period      text NOT NULL,
  start_time  timestamptz NOT NULL,
  call        jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS fraud_call_client_period ON fraud_call (client_id, period);
