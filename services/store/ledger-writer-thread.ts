/**
 * The writer thread of LedgerWriter: applies each chunk in one transaction, counts it as committed, then
 * appends its billed calls to rated.csv. Messages are handled strictly in order; the first failure stops
 * it and is reported to the run's thread, which throws it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Zone } from '../core/calendar.js';
import { SafeCsvWriter } from '../csv/safe-csv.js';
import { faultPoint } from '../embedded/fault-points.js';
import { keepHeapWithinBudget } from '../embedded/memory-budget.js';
import { CSV_COLUMN_KINDS } from '../embedded/output-files.js';
import { ratedCsvFields, type StoredRated } from '../embedded/rated-csv.js';
import { ChunkApplier, RATED_AT as at, type ChunkWrite } from './chunk-write.js';
import { SLOT, type WriterData, type WriterFailure, type WriterMessage } from './ledger-writer.js';
import { openSqlite } from './sqlite.js';

/** What a committed chunk leaves in this thread is garbage: collected past this, not gigabytes later. */
const WRITER_HEAP_BUDGET = 64 * 1024 * 1024;
const { dataDir, shared, failures } = workerData as WriterData;
const counters = new Int32Array(shared);
// An error outside a handled step (a stream's error event, the store failing to open) must reach the run,
// which waits on the counters: a thread that just died would leave it waiting for ever.
process.on('uncaughtException', (e) => fail(e));
const db = openSqlite(dataDir);
// A run's chunks rewrite the same index pages: checkpointing the WAL every 40,000 pages (about 160 MB)
// instead of SQLite's 1,000 copies each page once rather than at every commit (the ledger's inserts ran
// 1.3–1.5× faster on a 600k-row month). The WAL is checkpointed and removed when the run closes the store.
db.pragma('wal_autocheckpoint = 40000');
const applier = new ChunkApplier(db);
const partyStmt = db.prepare('SELECT client_id, site_id, user_id, plan_id FROM party WHERE party_id = ?').raw();
const parties = new Map<number, [string, string, string, string]>();
const zones = new Map<string, Zone>();
const texts: string[] = [];
let csv: SafeCsvWriter | null = null;
/** rated.csv's path: a write to it that fails is --out's failure, not the store's. */
let csvPath = '';
let failed = false;
let queue = Promise.resolve();

parentPort!.on('message', (m: WriterMessage) => {
  queue = queue.then(() => (failed && m.kind !== 'stop' ? undefined : handle(m))).catch(fail);
});

async function handle(m: WriterMessage): Promise<void> {
  switch (m.kind) {
    case 'chunk':
      texts.push(...m.write.texts);
      applier.apply(m.write);
      faultPoint('committed');
      step(SLOT.applied);
      const out = csv;
      if (out !== null) await onOut(() => appendRated(out, m.write));
      keepHeapWithinBudget(WRITER_HEAP_BUDGET);
      return;
    case 'csv-open':
      csvPath = m.path;
      csv = await onOut(() => new SafeCsvWriter(m.path, m.columns, CSV_COLUMN_KINDS));
      return;
    case 'csv-close': {
      const closing = csv;
      csv = null;
      await onOut(() => closing?.close());
      step(SLOT.csvClosed);
      return;
    }
    case 'stop':
      // The thread stops whatever the file says: a run that failed on rated.csv still closes its store.
      try {
        await csv?.close();
      } finally {
        csv = null;
        db.close();
        parentPort!.close();
      }
      return;
  }
}

async function appendRated(out: SafeCsvWriter, w: ChunkWrite): Promise<void> {
  for (let i = 0; i < w.rated.length; i++) {
    const r = w.rated[i]!;
    const [explanation, zone] = w.csv[i]!;
    const [clientId, siteId, userId, planId] = partyOf(r[at.party_id] as number);
    const stored: StoredRated = [
      r[at.cdr_id] as string, clientId, siteId, userId, planId, r[at.period] as string, r[at.start_time] as number,
      r[at.callee] as string, r[at.destination_class] as string, r[at.country] as string, r[at.billable_seconds] as number,
      r[at.in_bundle] as number, r[at.amount] as string /* a new call's first amount (first_amount is stored as '') */, r[at.currency] as string, r[at.reason] as string,
      r[at.priced_seconds] as number, r[at.shares] as string, r[at.caller] as string, r[at.caller_original] as string,
    ];
    await out.write(ratedCsvFields(stored, texts[explanation]!, zoneNamed(texts[zone]!)));
  }
}

function partyOf(partyId: number): [string, string, string, string] {
  let p = parties.get(partyId);
  if (p === undefined) {
    p = partyStmt.get(partyId) as [string, string, string, string];
    parties.set(partyId, p);
  }
  return p;
}

function zoneNamed(name: string): Zone {
  let z = zones.get(name);
  if (z === undefined) zones.set(name, (z = new Zone(name)));
  return z;
}

function step(slot: number): void {
  Atomics.add(counters, slot, 1);
  Atomics.notify(counters, slot);
}

/** An error writing rated.csv under --out, told apart from the store's so that the right folder is named. */
class OutFailure {
  constructor(
    readonly cause: unknown,
    readonly path: string,
  ) {}
}

async function onOut<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw new OutFailure(e, csvPath);
  }
}

function fail(thrown: unknown): void {
  failed = true;
  const e = thrown instanceof OutFailure ? thrown.cause : thrown;
  const failure: WriterFailure = {
    message: e instanceof Error ? e.message : String(e),
    ...(typeof (e as { code?: unknown }).code === 'string' ? { code: (e as { code: string }).code } : {}),
    ...(thrown instanceof OutFailure ? { outPath: thrown.path } : {}),
  };
  failures.postMessage(failure);
  Atomics.store(counters, SLOT.failed, 1);
  for (const slot of [SLOT.applied, SLOT.csvClosed]) Atomics.notify(counters, slot);
}
