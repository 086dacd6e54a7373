/**
 * A month of rated calls at a size where scanning it costs seconds (for the load tests of the desk),
 * written by the store itself (a recursive CTE in SQLite, generate_series in PostgreSQL) so that filling
 * it takes a second rather than a minute. Call i starts at MONTH_START + i × step, costs
 * ((i × 7919) mod 100,000) / 10,000 € and is in the bundle when i is a multiple of 5 (with an amount all
 * the same, which the out-of-bundle spend must leave out).
 */
import type { TestStore } from './stores.js';

/** 2026-03-01 00:00 Europe/Paris to 2026-04-01 00:00 Europe/Paris (DST begins on the 29th). */
export const MONTH_START_MS = Date.parse('2026-02-28T23:00:00Z');
export const MONTH_END_MS = Date.parse('2026-03-31T22:00:00Z');

export async function fillMonth(store: Pick<TestStore, 'kind' | 'sql'>, calls: number): Promise<void> {
  const step = Math.floor((MONTH_END_MS - MONTH_START_MS) / calls);
  if (store.kind === 'postgres') {
    await store.sql.query(
      `INSERT INTO rated_cdr (cdr_id, client_id, site_id, user_id, plan_id, account, line_type, channels, automated, source, period,
         start_time, answer_time, end_time, caller, caller_original, callee, destination_class, country, billable_seconds, disposition,
         direction, leg, device, in_bundle, priced_seconds, amount, first_amount, currency, reason, shares, source_line)
       SELECT 'load-' || i, 'C-LOAD', 'S-LOAD', 'U' || (i % 50), 'technicophone_centrex', 'load-' || (i % 50), 'centrex_user', 1, FALSE, 'load.csv', '2026-03',
              t, t, t + interval '60 seconds', '+33247501001', '', '+447700900' || lpad((i % 1000)::text, 3, '0'), 'international', 'GB', 60, 'answered',
              'outbound', 'originating', 'dev', i % 5 = 0, 60, a, a, 'EUR', 'out_of_plan_destination', '', i
         FROM generate_series(0, $1::int - 1) AS i,
              LATERAL (SELECT to_timestamp(($2::bigint + i::bigint * $3::bigint) / 1000.0) AS t, (((i::bigint * 7919) % 100000)::numeric / 10000)::numeric(12, 4) AS a) AS v`,
      [calls, MONTH_START_MS, step],
    );
    return;
  }
  await store.sql.query(
    `INSERT INTO party (account, client_id, site_id, user_id, plan_id, line_type, channels, automated)
     VALUES ('load', 'C-LOAD', 'S-LOAD', 'U1', 'technicophone_centrex', 'centrex_user', 1, 0) ON CONFLICT DO NOTHING`,
  );
  await store.sql.query("INSERT INTO source_file (path) VALUES ('load.csv') ON CONFLICT DO NOTHING");
  await store.sql.query(
    `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $1 - 1)
     INSERT INTO rated_call (cdr_id, party_id, source_id, period, start_time, answer_time, end_time, caller, caller_original, callee,
       destination_class, country, billable_seconds, disposition, direction, leg, device, in_bundle, priced_seconds, amount, first_amount,
       currency, reason, shares, source_line)
     SELECT 'load-' || i, (SELECT party_id FROM party WHERE account = 'load'), (SELECT source_id FROM source_file WHERE path = 'load.csv'), '2026-03',
            $2 + i * $3, $2 + i * $3, $2 + i * $3 + 60000, '+33247501001', '', '+447700900' || printf('%03d', i % 1000), 'international', 'GB', 60,
            'answered', 'outbound', 'originating', 'dev', i % 5 = 0, 60, printf('%d.%04d', (i * 7919) % 100000 / 10000, (i * 7919) % 10000),
            printf('%d.%04d', (i * 7919) % 100000 / 10000, (i * 7919) % 10000), 'EUR', 'out_of_plan_destination', '', i
       FROM n`,
    [calls, MONTH_START_MS, step],
  );
}
