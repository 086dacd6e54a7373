/**
 * TEMPORARY, until main has the store of STORE-CONTRACT.md (issue 9): the columns and table the desk
 * reads (rated_cdr.seq / first_amount / explanation, adjustment.seq / client scope, counter_state),
 * added only where missing. Once main migrates them itself this is a no-op and is deleted.
 */
import type { Sql } from '../../../services/store/sql.js';

export async function ensureContractColumns(sql: Sql): Promise<void> {
  for (const s of [
    'ALTER TABLE rated_cdr ADD COLUMN IF NOT EXISTS seq bigserial',
    'ALTER TABLE rated_cdr ADD COLUMN IF NOT EXISTS first_amount numeric',
    "ALTER TABLE rated_cdr ADD COLUMN IF NOT EXISTS explanation text NOT NULL DEFAULT ''",
    'ALTER TABLE rated_cdr ADD COLUMN IF NOT EXISTS run_id text',
    'ALTER TABLE adjustment ADD COLUMN IF NOT EXISTS seq bigserial',
    "ALTER TABLE adjustment ADD COLUMN IF NOT EXISTS client_id text NOT NULL DEFAULT ''",
    "ALTER TABLE adjustment ADD COLUMN IF NOT EXISTS site_id text NOT NULL DEFAULT ''",
    "ALTER TABLE adjustment ADD COLUMN IF NOT EXISTS user_id text NOT NULL DEFAULT ''",
    "ALTER TABLE adjustment ADD COLUMN IF NOT EXISTS plan_id text NOT NULL DEFAULT ''",
    `CREATE TABLE IF NOT EXISTS counter_state (
       client_id text NOT NULL, site_id text NOT NULL, user_id text NOT NULL, scope text NOT NULL, scope_key text NOT NULL,
       period text NOT NULL, rule text NOT NULL, value double precision NOT NULL, threshold double precision NOT NULL,
       crossed_at timestamptz, state text NOT NULL DEFAULT '', PRIMARY KEY (scope, scope_key, period, rule))`,
  ]) {
    await sql.query(s);
  }
}
