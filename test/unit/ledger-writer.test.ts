/**
 * The ledger's writer thread (issue 9): chunks are committed in order, all or nothing, rated.csv holds
 * exactly the committed chunks' calls, and a chunk the store refuses fails the run with the store's own
 * error code (which the run turns into advice) instead of hanging it or losing the chunk before.
 * The thread runs the build (dist/), as `make test` makes it first.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Papa from 'papaparse';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChunkWrite } from '../../services/store/chunk-write.js';
import { RatedCallsPacker } from '../../services/store/rated-calls.js';
import { LedgerWriter } from '../../services/store/ledger-writer.js';
import { openSqlite, type SqliteDb } from '../../services/store/sqlite.js';
import { RATED_COLUMNS } from '../../services/embedded/rated-csv.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const writers: LedgerWriter[] = [];
const dbs: SqliteDb[] = [];
afterEach(async () => {
  for (const w of writers.splice(0)) await w.close();
  for (const db of dbs.splice(0)) db.close();
});

/** A data directory with a run started, as a run has it before its first chunk. */
function dataDir(): { data: string; db: SqliteDb; runId: number } {
  const data = dir();
  const db = openSqlite(data);
  dbs.push(db);
  const runId = Number(db.prepare("INSERT INTO run (started_at, status, host, pid, files, out_dir, first_seq) VALUES (0, 'running', 'h', 1, '[]', 'out', 1)").run().lastInsertRowid);
  return { data, db, runId };
}

/**
 * A chunk of calls of one party from one file, both referred to by the run's ref 0 (sent with the first
 * chunk), as the run packs it; the writer's text table is sent with the first chunk too (every chunk
 * here uses the same texts, so they get the same ids).
 */
function chunk(runId: number, ids: string[], first = false, amount = '0.0250'): ChunkWrite {
  const at = 1_772_355_600_000; // 2026-03-01T09:00:00Z
  const texts: string[] = [];
  const rated = new RatedCallsPacker(ids.length, (text) => {
    const known = texts.indexOf(text);
    return known >= 0 ? known : texts.push(text) - 1;
  });
  ids.forEach((id, i) => {
    rated.setStrings(i, id, '+33612345678', '', '=HYPERLINK("x")', 'SIP/1001', amount, 'c1:60');
    rated.setTexts(i, '2026-03', 'fr_mobile', 'FR', 'answered', 'out', 'originating', null, 'EUR', 'fair_use.duration', 'fair_use.duration: clause 3', 'Europe/Paris');
    rated.setNumbers(i, 0, 0, at + i * 60_000, at + i * 60_000 + 5_000, at + i * 60_000 + 65_000, 60, false, 60, i + 2);
  });
  return {
    runId, now: 0, rated: rated.finish(), texts: first ? texts : [],
    parties: first ? [[0, 'acc-1', 'C-1', 'S-1', 'U-1', 'witech_illimite', 'sip', 2, 0]] : [],
    sources: first ? [[0, 'day-1.csv']] : [], unrejects: [], reprices: [], adjustments: [], counters: [], fraudStates: [], alerts: [],
    rejects: [], totals: [['C-1', '2026-03', String(Number(amount) * ids.length)]], counts: JSON.stringify({ rated: ids.length }),
  };
}

describe('the ledger writer thread', () => {
  it('commits chunks in order and writes rated.csv from what it committed, formula-safe', () => {
    const { data, db, runId } = dataDir();
    const writer = new LedgerWriter(data);
    writers.push(writer);
    const csvPath = join(data, 'rated.csv');
    writer.openRatedCsv(csvPath, RATED_COLUMNS);
    writer.post(chunk(runId, ['a-1', 'a-2'], true));
    writer.post(chunk(runId, ['a-3']));
    writer.settle();
    writer.closeRatedCsv();

    expect(db.prepare('SELECT cdr_id FROM rated_call ORDER BY seq').pluck().all()).toEqual(['a-1', 'a-2', 'a-3']);
    // Month totals add up exactly across chunks: 2 × 0.0250 then 1 × 0.0250.
    expect(db.prepare("SELECT amount FROM month_total WHERE client_id = 'C-1'").pluck().get()).toBe('0.075');
    const rows = Papa.parse<Record<string, string>>(readFileSync(csvPath, 'utf8'), { header: true, skipEmptyLines: true }).data;
    expect(rows.map((r) => r.cdr_id)).toEqual(['a-1', 'a-2', 'a-3']);
    expect(rows[0]).toMatchObject({ client_id: 'C-1', plan_id: 'witech_illimite', start_time: '2026-03-01T10:00:00+01:00', amount: '0.0250', explanation: 'fair_use.duration: clause 3', in_bundle: 'false' });
    // A callee that a spreadsheet would run as a formula is written as text.
    expect(rows[0]!.callee).toBe(`'=HYPERLINK("x")`);
  });

  it("fails the run with the store's error when a chunk is refused, keeping the chunks before it whole", () => {
    const { data, db, runId } = dataDir();
    const writer = new LedgerWriter(data);
    writers.push(writer);
    writer.post(chunk(runId, ['b-1', 'b-2'], true));
    // The same cdr_id again: the ledger's unique key refuses the whole second chunk.
    writer.post(chunk(runId, ['b-3', 'b-1']));
    expect(() => writer.settle()).toThrow(expect.objectContaining({ code: 'SQLITE_CONSTRAINT_UNIQUE' }));
    // Every later call says the same, rather than waiting for a writer that has stopped.
    expect(() => writer.post(chunk(runId, ['b-4']))).toThrow(/UNIQUE/);
    expect(db.prepare('SELECT cdr_id FROM rated_call ORDER BY seq').pluck().all()).toEqual(['b-1', 'b-2']);
    expect(db.prepare('SELECT counts FROM run WHERE run_id = ?').pluck().get(runId)).toBe(JSON.stringify({ rated: 2 }));
  });

  it('fails the run, rather than leaving it waiting for ever, when rated.csv cannot be written', () => {
    const { data, runId } = dataDir();
    const writer = new LedgerWriter(data);
    writers.push(writer);
    // The folder is not there: the file's stream fails outside any step of the thread.
    writer.openRatedCsv(join(data, 'no-such-folder', 'rated.csv'), RATED_COLUMNS);
    writer.post(chunk(runId, ['c-1'], true));
    expect(() => {
      writer.settle();
      writer.closeRatedCsv();
    }).toThrow(/ENOENT/);
  });
});
