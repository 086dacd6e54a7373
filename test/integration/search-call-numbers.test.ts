/**
 * Migration 019 (SQLite): the desk's search by number without a per-call index. A store rated before it
 * (with 017's callee/caller indexes) finds, once migrated, exactly the calls a scan of the ledger finds,
 * newest first; calls rated after the migration are found too (the trigger), and 017's indexes are gone.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config/load-config.js';
import { rateFiles } from '../../services/embedded/rate-files.js';
import { openSqlite, sqliteSql } from '../../services/store/sqlite.js';
import { callsOfNumber, CALL_COUNT_CAP } from '../../services/store/desk/desk-search.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const config = () => loadConfig('config', 'samples/subscribers.csv');
const rate = (dataDir: string, file: string) =>
  rateFiles({ config: config(), dataDir, outDir: join(dir(), `out-${file.slice(-9, -4)}`), sourceZone: 'Europe/Paris', files: [file] });

/** Undoes 019 as if the store had been left by the `cdr` before it. */
function asBefore019(dataDir: string): void {
  const db = openSqlite(dataDir);
  db.exec(`DROP TRIGGER rated_call_numbers; DROP TABLE call_number; DROP INDEX rated_call_month;
           CREATE INDEX rated_call_month ON rated_call (party_id, period);
           CREATE INDEX rated_call_callee ON rated_call (callee, start_time);
           CREATE INDEX rated_call_caller ON rated_call (caller, start_time);
           DELETE FROM schema_migration WHERE version = '019_call_numbers.sql';`);
  db.close();
}

describe('search by number on SQLite (migration 019)', () => {
  it('finds in a store rated before 019 the calls a ledger scan finds, and those rated after it', async () => {
    const dataDir = join(dir(), 'state');
    await rate(dataDir, 'samples/cdrs-2026-03-02.csv');
    asBefore019(dataDir);
    await rate(dataDir, 'samples/cdrs-2026-03-03.csv'); // opening the store migrates it

    const db = openSqlite(dataDir);
    const sql = sqliteSql(db);
    try {
      const indexes = (await sql.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rated_call'")).map((r) => r.name);
      expect(indexes).not.toContain('rated_call_callee');
      expect(indexes).not.toContain('rated_call_caller');
      // The busiest callee and caller of both days, and a number of each day only.
      const numbers = await sql.query<{ number: string }>(
        `SELECT number FROM (SELECT callee AS number, count(*) AS n FROM rated_call GROUP BY callee ORDER BY n DESC LIMIT 2)
         UNION SELECT number FROM (SELECT caller AS number, count(*) AS n FROM rated_call GROUP BY caller ORDER BY n DESC LIMIT 2)
         UNION SELECT number FROM (SELECT callee AS number FROM rated_call WHERE period = '2026-03' ORDER BY seq DESC LIMIT 1)
         UNION SELECT number FROM (SELECT callee AS number FROM rated_call ORDER BY seq LIMIT 1)`,
      );
      expect(numbers.length).toBeGreaterThanOrEqual(3);
      for (const { number } of numbers) {
        const scan = await sql.query<{ cdr_id: string; start_time: number }>(
          'SELECT cdr_id, start_time FROM rated_call WHERE callee = $1 OR caller = $1 ORDER BY start_time DESC, cdr_id', [number]);
        const sides = await sql.query<{ n: number }>('SELECT (SELECT count(*) FROM rated_call WHERE callee = $1) + (SELECT count(*) FROM rated_call WHERE caller = $1) AS n', [number]);
        const found = await callsOfNumber(sql, number, 20);
        expect(found.total, number).toBe(Math.min(sides[0]!.n, CALL_COUNT_CAP));
        expect(found.latest.map((c) => c.cdr_id), number).toEqual(scan.slice(0, 20).map((r) => r.cdr_id));
        // Counted alike whether the newest-first walk holds every call (it counts them) or not (a count walks the month).
        for (const limit of [scan.length - 2, scan.length - 1, scan.length, scan.length + 1].filter((l) => l > 0)) {
          expect((await callsOfNumber(sql, number, limit)).total, `${number}, ${limit} listed`).toBe(Math.min(sides[0]!.n, CALL_COUNT_CAP));
        }
      }
      // Every call's two numbers are in call_number, those first seen on day 3 (after the migration) too.
      const uncovered = await sql.query<{ n: number }>(
        `SELECT count(*) AS n FROM rated_call r WHERE NOT EXISTS (SELECT 1 FROM call_number c WHERE c.number = r.callee AND c.party_id = r.party_id AND c.period = r.period)
            OR NOT EXISTS (SELECT 1 FROM call_number c WHERE c.number = r.caller AND c.party_id = r.party_id AND c.period = r.period)`,
      );
      expect(uncovered[0]!.n).toBe(0);
      const newOnDay3 = await sql.query<{ n: number }>(
        `SELECT count(*) AS n FROM rated_call r JOIN source_file s USING (source_id) WHERE s.path LIKE '%03-03%'
            AND NOT EXISTS (SELECT 1 FROM rated_call o JOIN source_file os USING (source_id) WHERE os.path LIKE '%03-02%' AND o.callee = r.callee AND o.party_id = r.party_id)`,
      );
      expect(newOnDay3[0]!.n, 'callees first called on day 3').toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });
});
