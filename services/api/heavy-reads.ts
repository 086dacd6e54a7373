/**
 * Reads that scan a month of calls, kept off the event loop so that no analyst's chart can hold up the
 * barring feed a switch is polling. better-sqlite3 is synchronous: on the embedded store these reads run
 * in a worker thread with its own read-only connection (WAL lets it read while `cdr rate` writes).
 * node-postgres is asynchronous and the grouping is done by PostgreSQL: there they run in-process.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { hourlyFigures, type HourlyFigures } from '../store/desk/daily-figures.js';
import type { Sql } from '../store/sql.js';

export interface HeavyReads {
  hourly(sinceMs: number, untilMs: number): Promise<HourlyFigures>;
  close(): Promise<void>;
}

/** What the thread is asked, and answers (one answer per id). */
export type HeavyRequest = { id: number; sinceMs: number; untilMs: number };
export type HeavyAnswer = { id: number; figures: HourlyFigures } | { id: number; error: string };
export interface HeavyThreadData {
  dataDir: string;
}

export function inProcessReads(sql: Sql): HeavyReads {
  return { hourly: (since, until) => hourlyFigures(sql, 'postgres', since, until), close: async () => {} };
}

/**
 * The embedded store's reads in one worker thread, started on first use. A thread that dies fails the
 * reads it had (the chart answers 500 and says so in the log) and the next read starts a new one.
 */
export function threadReads(dataDir: string): HeavyReads {
  let worker: Worker | null = null;
  let nextId = 0;
  const waiting = new Map<number, { resolve: (f: HourlyFigures) => void; reject: (e: Error) => void }>();
  const failAll = (e: Error) => {
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
    worker = null;
  };
  const start = (): Worker => {
    const w = new Worker(threadScript(), { workerData: { dataDir } satisfies HeavyThreadData });
    w.on('message', (a: HeavyAnswer) => {
      const p = waiting.get(a.id);
      waiting.delete(a.id);
      if ('error' in a) p?.reject(new Error(`the chart's read failed in its thread: ${a.error}`));
      else p?.resolve(a.figures);
    });
    w.on('error', (e) => failAll(new Error(`the chart's read thread failed: ${e.message}`)));
    w.on('exit', () => failAll(new Error('the chart\'s read thread stopped')));
    // An idle thread must not keep `cdr serve` (or a test) alive.
    w.unref();
    return w;
  };
  return {
    hourly(sinceMs, untilMs) {
      worker ??= start();
      const id = nextId++;
      const answer = new Promise<HourlyFigures>((resolve, reject) => waiting.set(id, { resolve, reject }));
      worker.postMessage({ id, sinceMs, untilMs } satisfies HeavyRequest);
      return answer;
    },
    async close() {
      const w = worker;
      if (w === null) return;
      const exited = once(w, 'exit');
      await w.terminate();
      await exited.catch(() => {});
    },
  };
}

/**
 * The thread runs compiled JavaScript: from the build (dist/) its sibling, and from the sources (vitest
 * runs them) the build's copy, which `make test` makes first (as for the ledger writer).
 */
function threadScript(): URL {
  const here = import.meta.url;
  const script = here.endsWith('.ts') ? new URL('../../dist/services/api/heavy-reads-thread.js', here) : new URL('./heavy-reads-thread.js', here);
  if (!existsSync(fileURLToPath(script))) throw new Error(`the chart's read thread ${fileURLToPath(script)} is missing: build the project first (make build)`);
  return script;
}
