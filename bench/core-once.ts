/**
 * The stages of the embedded run without the store, in a child process started with --expose-gc:
 * - the reader and normaliser over the month's files (CDRs/s);
 * - the rater alone on the month in time order (after a warm-up pass), with a RatingState that has nothing saved and never needs
 *   calls back (an in-order month asks for none), drained every 25,000 CDRs with the results dropped:
 *   the heap it keeps afterwards is its fair-use state, divided by the (subscriber, period) pairs seen;
 * - the core (CdrPipeline: caller-ID rewrite, rating and fraud) on the same CDRs (CDRs/s).
 * Argv: subscribers file…; prints one JSON line on stdout.
 */
import { Zone } from '../services/core/calendar.js';
import type { Cdr } from '../services/core/cdr.js';
import { CdrPipeline } from '../services/core/cdr-pipeline.js';
import { Rater } from '../services/core/rating/rater.js';
import type { RatingState } from '../services/core/rating/rating-state.js';
import { loadConfig } from '../services/config/load-config.js';
import { normalizeRecord } from '../services/ingest/normalize.js';
import { readExport } from '../services/ingest/readers/detect-format.js';

const DRAIN_EVERY = 25_000;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('core-once needs node --expose-gc');

const [subscribers, ...files] = process.argv.slice(2);
const config = loadConfig('config', subscribers!);
const zone = new Zone('Europe/Paris');

// Reader + normaliser.
let started = performance.now();
const cdrs: Cdr[] = [];
let records = 0;
const ctx = { numbering: config.numbering, sourceZone: zone, directory: config.directory, limits: config.limits };
for (const file of files) {
  for await (const item of readExport(file, { limits: config.limits })) {
    if (item.kind !== 'record') continue;
    records++;
    const n = normalizeRecord(item.record, ctx);
    if (n.ok) cdrs.push(n.cdr);
  }
}
const readSeconds = (performance.now() - started) / 1000;
cdrs.sort((a, b) => a.startMs - b.startMs || (a.cdrId < b.cdrId ? -1 : 1));

/** Nothing saved, nothing to read back: what an in-order month in one process needs. */
const nothingSaved: RatingState = { counter: () => null, calls: () => [] };
const usersOf = (c: string, s: string | null) => config.directory.usersOf(c, s);

// A first pass warms the JIT and the configuration's own caches (the classifier's, the calendars'), which
// are not fair-use state; the measured pass below starts from there.
rateMonth(new Rater({ plans: config.plans, numbering: config.numbering, usersOf, state: nothingSaved }), new Set());

// Rater alone: its retained heap is the fair-use state.
const heapBefore = await settledHeap();
let rater: Rater | null = new Rater({ plans: config.plans, numbering: config.numbering, usersOf, state: nothingSaved });
const pairs = new Set<string>();
const raterSeconds = rateMonth(rater, pairs);
const pairCount = pairs.size;
pairs.clear();
const heapAfter = await settledHeap();
const counters = rater.counterCount;
rater = null;

// The core: rating and fraud, as both runtimes chain them.
gc();
const pipeline = new CdrPipeline({
  plans: config.plans,
  numbering: config.numbering,
  fraud: config.fraud,
  zone,
  usersOf,
  numbersOf: (c) => config.directory.numbersOfClient(c),
  isPlatform: (a) => config.directory.isPlatform(a),
  ratingState: nothingSaved,
});
started = performance.now();
for (let i = 0; i < cdrs.length; i++) {
  pipeline.process(cdrs[i]!);
  if ((i + 1) % DRAIN_EVERY === 0) pipeline.drain();
}
pipeline.drain();
const coreSeconds = (performance.now() - started) / 1000;

process.stdout.write(
  JSON.stringify({
    records,
    cdrs: cdrs.length,
    readPerSecond: records / readSeconds,
    raterPerSecond: cdrs.length / raterSeconds,
    corePerSecond: cdrs.length / coreSeconds,
    pairs: pairCount,
    counters,
    stateBytesPerPair: (heapAfter - heapBefore) / Math.max(1, pairCount),
  }) + '\n',
);

/** The month through a rater in time order, drained every DRAIN_EVERY CDRs with the results dropped; seconds. */
function rateMonth(r: Rater, pairs: Set<string>): number {
  const t = performance.now();
  for (let i = 0; i < cdrs.length; i++) {
    const call = r.rate(cdrs[i]!);
    if (call !== null) pairs.add(`${call.cdr.subscriber.account}|${call.period}`);
    if ((i + 1) % DRAIN_EVERY === 0) r.drain();
  }
  r.drain();
  return (performance.now() - t) / 1000;
}

/** Heap used after full collections with the event loop let run between them (weak references, finalizers). */
async function settledHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}
