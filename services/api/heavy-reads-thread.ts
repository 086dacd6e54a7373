/**
 * The thread of threadReads: a read-only connection to the data directory's database, answering one
 * chart read at a time, in order. A failed read is answered as an error; the thread carries on.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { hourlyFigures } from '../store/desk/daily-figures.js';
import { openSqlite, sqliteSql } from '../store/sqlite.js';
import type { HeavyAnswer, HeavyRequest, HeavyThreadData } from './heavy-reads.js';

const { dataDir } = workerData as HeavyThreadData;
const sql = sqliteSql(openSqlite(dataDir, { readonly: true, mapped: true }));

parentPort!.on('message', (r: HeavyRequest) => {
  hourlyFigures(sql, 'sqlite', r.sinceMs, r.untilMs).then(
    (figures) => parentPort!.postMessage({ id: r.id, figures } satisfies HeavyAnswer),
    (e: unknown) => parentPort!.postMessage({ id: r.id, error: e instanceof Error ? e.message : String(e) } satisfies HeavyAnswer),
  );
});
