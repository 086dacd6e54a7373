-- The desk's reads on a month of a million calls (issue 10): a subscriber's latest calls and a month's rows
-- written after a close are found by client and seq, not by sorting the client's month.
CREATE INDEX IF NOT EXISTS rated_cdr_client_seq ON rated_cdr (client_id, seq);
CREATE INDEX IF NOT EXISTS adjustment_client_period_seq ON adjustment (client_id, period, seq)
