/**
 * Answers that read a whole client month (its invoice, usage or subscriber view with its alerts, cases and locks: the busiest client of a 1 M-CDR month
 * is 21,722 rows, 0.2 s to read on the embedded store) are computed once per version of the store and
 * shared: requests arriving while one is computed wait for it, and later ones reuse it until the store
 * changes. An answer is never staler than the store as the request found it:
 * - embedded store: the version is SQLite's `data_version` (moves when another connection commits: a
 *   `cdr rate` run, a `cdr close`) with this connection's `total_changes()` (the desk's own writes);
 * - PostgreSQL: the client's rated rows and adjustments (count and highest seq: a row committed late with
 *   a lower seq still moves the count), its closed months, the sum of its fair-use counters (they
 *   only grow within a month), its alerts (count and the sum of their update times: any new or updated
 *   alert moves it) and the last audit event (every analyst's or policy's act: a status, a case, a lock).
 */
import type { Sql } from '../store/sql.js';

const MAX_ANSWERS = 32;

export class MonthAnswers {
  private readonly answers = new Map<string, { version: string; value: Promise<unknown> }>();

  constructor(private readonly sql: Sql) {}

  /** The answer of `key` (about `client`) for the store as it is now: reused, shared, or computed. */
  async get<T>(key: string, client: string, compute: () => Promise<T>): Promise<T> {
    const version = await this.version(client);
    const held = this.answers.get(key);
    if (held !== undefined && held.version === version) {
      // Most recently used last: the oldest goes first when the map is full.
      this.answers.delete(key);
      this.answers.set(key, held);
      return held.value as Promise<T>;
    }
    const value = compute();
    this.answers.set(key, { version, value });
    // A failed computation is not kept: the next request tries again.
    value.catch(() => {
      if (this.answers.get(key)?.value === value) this.answers.delete(key);
    });
    if (this.answers.size > MAX_ANSWERS) this.answers.delete(this.answers.keys().next().value!);
    return value;
  }

  /**
   * An answer about the whole store (a search): shared the same way on the embedded store, whose version
   * is the whole store's. PostgreSQL has no cheap version of the whole store, and searches there read its
   * per-number indexes: computed each time.
   */
  async getStoreWide<T>(key: string, compute: () => Promise<T>): Promise<T> {
    return this.sql.dialect === 'sqlite' ? this.get(key, '', compute) : compute();
  }

  private async version(client: string): Promise<string> {
    if (this.sql.dialect === 'sqlite') {
      const [v] = await this.sql.query<{ d: unknown; t: unknown }>('SELECT (SELECT data_version FROM pragma_data_version) AS d, total_changes() AS t');
      return `${String(v?.d)}|${String(v?.t)}`;
    }
    const [v] = await this.sql.query<Record<string, unknown>>(
      `SELECT (SELECT count(*) FROM rated_cdr WHERE client_id = $1) AS rn, (SELECT max(seq) FROM rated_cdr WHERE client_id = $1) AS rs,
              (SELECT count(*) FROM adjustment WHERE client_id = $1) AS an, (SELECT max(seq) FROM adjustment WHERE client_id = $1) AS ax,
              (SELECT count(*) FROM month_close WHERE client_id = $1) AS cn, (SELECT sum(value) FROM counter_state WHERE client_id = $1) AS cv,
              (SELECT count(*) || ':' || coalesce(sum(extract(epoch FROM updated_at)), 0) FROM alert WHERE client_id = $1) AS al,
              (SELECT max(event_id) FROM audit_event) AS ae`,
      [client],
    );
    return [v?.rn, v?.rs, v?.an, v?.ax, v?.cn, v?.cv, v?.al, v?.ae].map(String).join('|');
  }
}
