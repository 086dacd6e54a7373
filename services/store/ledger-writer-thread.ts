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
import { ChunkApplier, type ChunkWrite } from './chunk-write.js';
import { NUMBER, STRING, TEXT } from './rated-calls.js';
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
  await out.writeAll(ratedCsvRows(w));
}

function* ratedCsvRows(w: ChunkWrite): Generator<string[]> {
  const calls = applier.calls(w);
  for (let i = 0; i < calls.count; i++) {
    const [clientId, siteId, userId, planId] = partyOf(applier.partyId(calls.number(i, NUMBER.party_id)!));
    const stored: StoredRated = [
      calls.string(i, STRING.cdr_id), clientId, siteId, userId, planId, calls.text(i, TEXT.period)!, calls.number(i, NUMBER.start_time)!,
      calls.string(i, STRING.callee), calls.text(i, TEXT.destination_class)!, calls.text(i, TEXT.country)!, calls.number(i, NUMBER.billable_seconds)!,
      calls.number(i, NUMBER.in_bundle)!, calls.string(i, STRING.amount) /* a new call's first amount (first_amount is stored as '') */,
      calls.text(i, TEXT.currency)!, calls.text(i, TEXT.reason)!, calls.number(i, NUMBER.priced_seconds)!, calls.string(i, STRING.shares),
      calls.string(i, STRING.caller), calls.string(i, STRING.caller_original),
    ];
    yield ratedCsvFields(stored, calls.text(i, TEXT.explanation)!, zoneNamed(calls.text(i, TEXT.zone)!));
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
