-- What a call was first billed with, kept when it is first re-priced: a run's rated.csv shows each call as
-- that run billed it (its first amount, with the reason, bundle and priced seconds of that price), and
-- `cdr export --run N` must give the same file after a later run has re-priced some of its calls.
-- NULL until then (one byte a row): the first terms are the current ones.
ALTER TABLE rated_call ADD COLUMN first_terms TEXT;

DROP VIEW rated_cdr;
CREATE VIEW rated_cdr AS
  SELECT r.seq, r.cdr_id, r.run_id, p.client_id, p.site_id, p.user_id, p.plan_id, p.account, p.line_type, p.channels,
         p.automated, r.period, r.start_time, r.answer_time, r.end_time, r.caller, r.caller_original, r.callee,
         r.destination_class, r.country, r.billable_seconds, r.disposition, r.direction, r.leg, r.forward_reason, r.device,
         r.in_bundle, r.priced_seconds, r.amount, r.first_amount, r.currency, r.reason, r.shares, s.path AS source,
         r.source_line,
         coalesce(json_extract(r.first_terms, '$[0]'), r.in_bundle) AS first_in_bundle,
         coalesce(json_extract(r.first_terms, '$[1]'), r.priced_seconds) AS first_priced_seconds,
         coalesce(json_extract(r.first_terms, '$[2]'), r.reason) AS first_reason,
         coalesce(json_extract(r.first_terms, '$[3]'), r.shares) AS first_shares
    FROM rated_call r JOIN party p USING (party_id) JOIN source_file s USING (source_id);
