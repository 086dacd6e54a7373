/**
 * The stages of the embedded run without the store, in a child process started with --expose-gc. The
 * month streams file by file (daily files: each day sorted by time makes the month in time order), so
 * that no pass holds more than a day of CDRs:
 * - the reader and normaliser (CDRs/s, timed apart from the rating);
 * - the rater alone, with a RatingState that has nothing saved and never needs calls back (an in-order
 *   month asks for none), drained every 25,000 CDRs with the results dropped: the heap it keeps at month
 *   end, after forced collections, is its fair-use state, divided by the (subscriber, period) pairs seen;
 *   a first pass warms the JIT and the configuration's own caches, which are not fair-use state; a second
 *   measure with the CDRs' strings copied flat shows how much of it is source text kept by substrings;
 * - the core (CdrPipeline: caller-ID rewrite, rating and fraud) the same way (CDRs/s).
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
const ctx = { numbering: config.numbering, sourceZone: zone, directory: config.directory, limits: config.limits };

/** Nothing saved, nothing to read back: what an in-order month in one process needs. */
const nothingSaved: RatingState = { counter: () => null, calls: () => [] };
const usersOf = (c: string, s: string | null) => config.directory.usersOf(c, s);
const newRater = () => new Rater({ plans: config.plans, numbering: config.numbering, usersOf, state: nothingSaved });

interface Pass {
  records: number;
  cdrs: number;
  readSeconds: number;
  rateSeconds: number;
}

/** The month through `rate`, a day at a time in time order, `drain` every DRAIN_EVERY CDRs. */
async function month(rate: (cdr: Cdr) => void, drain: () => void, flat = false): Promise<Pass> {
  const pass: Pass = { records: 0, cdrs: 0, readSeconds: 0, rateSeconds: 0 };
  let sinceDrain = 0;
  for (const file of files) {
    let t = performance.now();
    const day: Cdr[] = [];
    for await (const item of readExport(file, { limits: config.limits })) {
      if (item.kind !== 'record') continue;
      pass.records++;
      const n = normalizeRecord(item.record, ctx);
      if (n.ok) day.push(flat ? flatCopy(n.cdr) : n.cdr);
    }
    day.sort((a, b) => a.startMs - b.startMs || (a.cdrId < b.cdrId ? -1 : 1));
    pass.readSeconds += (performance.now() - t) / 1000;
    t = performance.now();
    for (const cdr of day) {
      rate(cdr);
      if (++sinceDrain === DRAIN_EVERY) [sinceDrain] = [0, drain()];
    }
    pass.rateSeconds += (performance.now() - t) / 1000;
    pass.cdrs += day.length;
  }
  const t = performance.now();
  drain();
  pass.rateSeconds += (performance.now() - t) / 1000;
  return pass;
}

// Warm-up.
{
  const r = newRater();
  await month((c) => void r.rate(c), () => void r.drain());
}

// The rater alone: its retained heap is the fair-use state, then the same with every string of the CDRs
// copied flat, so that what the state keeps of the source text (a substring holds its whole line) shows.
const rating = await fairUse(false);
const flatState = await fairUse(true);

// The core: rating and fraud, as both runtimes chain them.
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
const core = await month((c) => void pipeline.process(c), () => void pipeline.drain());

process.stdout.write(
  JSON.stringify({
    records: rating.records,
    cdrs: rating.cdrs,
    readPerSecond: rating.records / rating.readSeconds,
    raterPerSecond: rating.cdrs / rating.rateSeconds,
    corePerSecond: core.cdrs / core.rateSeconds,
    pairs: rating.pairs,
    counters: rating.counters,
    stateBytesPerPair: rating.bytesPerPair,
    flatStateBytesPerPair: flatState.bytesPerPair,
  }) + '\n',
);

async function fairUse(flat: boolean) {
  const heapBefore = await settledHeap();
  let rater: Rater | null = newRater();
  const pairs = new Set<string>();
  const pass = await month(
    (cdr) => {
      const call = rater!.rate(cdr);
      if (call !== null) pairs.add(`${call.cdr.subscriber.account}|${call.period}`);
    },
    () => void rater!.drain(),
    flat,
  );
  const pairCount = pairs.size;
  pairs.clear();
  const heapAfter = await settledHeap();
  const counters = rater.counterCount;
  rater = null;
  return { ...pass, pairs: pairCount, counters, bytesPerPair: (heapAfter - heapBefore) / Math.max(1, pairCount) };
}

/** The CDR with each of its own string fields copied into a fresh flat string. */
function flatCopy(cdr: Cdr): Cdr {
  const copy: Record<string, unknown> = { ...cdr };
  for (const [k, v] of Object.entries(copy)) if (typeof v === 'string') copy[k] = Buffer.from(v).toString();
  return copy as unknown as Cdr;
}

/** Heap used after full collections with the event loop let run between them (weak references, finalizers). */
async function settledHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}
