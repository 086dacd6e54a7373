-- The desk's search by number (issue 20) without a per-call index. Migration 017 indexed rated_call on
-- (callee, start_time) and (caller, start_time): 64 bytes of every call stored, and a day's calls
-- landing all over two large random-order trees, which made day 31 of a month cost 1.6 × a fresh day
-- (`make bench`). A number is called ~9 times a month on average, so instead each (number, party,
-- month) pair is kept once, which takes a few bytes per call and dirties few pages per day; a search
-- goes number → parties and months → those months' calls with the number, newest first along
-- rated_call_month, which now ends with start_time (a party's calls arrive mostly in time order, so
-- that column costs a few bytes and no scattered writes) so that a trunk's busy month is read only as
-- far back as the hits asked for (services/store/desk/desk-search.ts).
-- PostgreSQL kept its indexes until its own 023, which does the same for the streaming path's writes.
CREATE TABLE IF NOT EXISTS call_number (
  number   TEXT NOT NULL,
  party_id INTEGER NOT NULL,
  period   TEXT NOT NULL,
  PRIMARY KEY (number, party_id, period)
) WITHOUT ROWID;

INSERT OR IGNORE INTO call_number (number, party_id, period) SELECT callee, party_id, period FROM rated_call;
INSERT OR IGNORE INTO call_number (number, party_id, period) SELECT caller, party_id, period FROM rated_call;

-- In the schema rather than in the writer: every path that inserts a call keeps the search whole. It
-- costs ~3 µs a call on the writer thread (1.3 s of the 1 M-CDR month's 30 s, measured by removing it).
CREATE TRIGGER IF NOT EXISTS rated_call_numbers AFTER INSERT ON rated_call
BEGIN
  INSERT OR IGNORE INTO call_number (number, party_id, period) VALUES (NEW.callee, NEW.party_id, NEW.period), (NEW.caller, NEW.party_id, NEW.period);
END;

DROP INDEX IF EXISTS rated_call_callee;
DROP INDEX IF EXISTS rated_call_caller;

DROP INDEX IF EXISTS rated_call_month;
CREATE INDEX rated_call_month ON rated_call (party_id, period, start_time);

-- The first amount is kept as the first terms are (012): '' until the call is first re-priced, the
-- amount being the first amount until then. That saves the ~7 bytes a call that rated_call_month's
-- start_time costs; rows stored before keep their value, which reads the same.
DROP VIEW rated_cdr;
CREATE VIEW rated_cdr AS
  SELECT r.seq, r.cdr_id, r.run_id, p.client_id, p.site_id, p.user_id, p.plan_id, p.account, p.line_type, p.channels,
         p.automated, r.period, r.start_time, r.answer_time, r.end_time, r.caller, r.caller_original, r.callee,
         r.destination_class, r.country, r.billable_seconds, r.disposition, r.direction, r.leg, r.forward_reason, r.device,
         r.in_bundle, r.priced_seconds, r.amount, CASE r.first_amount WHEN '' THEN r.amount ELSE r.first_amount END AS first_amount,
         r.currency, r.reason, r.shares, s.path AS source, r.source_line,
         coalesce(json_extract(r.first_terms, '$[0]'), r.in_bundle) AS first_in_bundle,
         coalesce(json_extract(r.first_terms, '$[1]'), r.priced_seconds) AS first_priced_seconds,
         coalesce(json_extract(r.first_terms, '$[2]'), r.reason) AS first_reason,
         coalesce(json_extract(r.first_terms, '$[3]'), r.shares) AS first_shares
    FROM rated_call r JOIN party p USING (party_id) JOIN source_file s USING (source_id);
