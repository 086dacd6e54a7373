/**
 * The ledger's writer: a worker thread with its own SQLite connection that applies a run's chunks in
 * order and writes rated.csv as they commit, while the run's thread rates the next chunk. On a 2-core
 * machine this puts the store and the output file on the second core (README "Embedded store").
 *
 * At most one chunk is in flight: `post` waits for the previous one. Waiting is synchronous
 * (Atomics.wait on shared counters) because the readers that need the writer idle are synchronous
 * too: the rater's read-back of a scope's month must see every call the run has drained.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { asOutputError } from '../embedded/run-errors.js';
import type { ChunkWrite } from './chunk-write.js';
import { transferablesOf } from './rated-calls.js';

/** What the writer thread is told, in order. */
export type WriterMessage =
  | { kind: 'chunk'; write: ChunkWrite }
  | { kind: 'csv-open'; path: string; columns: readonly string[] }
  | { kind: 'csv-close' }
  | { kind: 'stop' };

/** Slots of the shared counters. */
export const SLOT = { applied: 0, csvClosed: 1, failed: 2 } as const;

export interface WriterFailure {
  message: string;
  code?: string;
  /** Set when writing rated.csv under --out failed (the store is fine): the file's path. */
  outPath?: string;
}

export interface WriterData {
  dataDir: string;
  shared: SharedArrayBuffer;
  failures: MessagePort;
}

export class LedgerWriter {
  private readonly worker: Worker;
  private readonly counters: Int32Array;
  private readonly failures: MessagePort;
  private posted = 0;
  private csvCloses = 0;
  private failure: Error | null = null;

  constructor(dataDir: string) {
    const shared = new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT);
    this.counters = new Int32Array(shared);
    const { port1, port2 } = new MessageChannel();
    this.failures = port1;
    const workerData: WriterData = { dataDir, shared, failures: port2 };
    this.worker = new Worker(writerScript(), { workerData, transferList: [port2] });
  }

  /** Sends a chunk; returns once the previous one is committed. */
  post(write: ChunkWrite): void {
    this.waitUntil(SLOT.applied, this.posted);
    // The packed calls' arrays are moved to the writer, not copied: the chunk is the writer's from here.
    this.send({ kind: 'chunk', write }, transferablesOf(write.rated));
    this.posted++;
  }

  /** Whether every chunk sent has been committed (after a failure: whether the failure came after the last). */
  allCommitted(): boolean {
    return Atomics.load(this.counters, SLOT.applied) >= this.posted;
  }

  /** Returns once every chunk sent is committed; throws the writer's error if one failed. */
  settle(): void {
    this.waitUntil(SLOT.applied, this.posted);
  }

  /** From now on each committed chunk's billed calls are written to `path` (header first). */
  openRatedCsv(path: string, columns: readonly string[]): void {
    this.send({ kind: 'csv-open', path, columns });
  }

  /** Returns once rated.csv holds every committed chunk and is closed. */
  closeRatedCsv(): void {
    this.send({ kind: 'csv-close' });
    this.waitUntil(SLOT.csvClosed, ++this.csvCloses);
  }

  /** Stops the thread once it has done what it was sent (its connection closed). */
  async close(): Promise<void> {
    const exited = once(this.worker, 'exit');
    this.worker.postMessage({ kind: 'stop' } satisfies WriterMessage);
    await exited;
    this.failures.close();
  }

  private send(m: WriterMessage, transfer: ArrayBuffer[] = []): void {
    this.failIfFailed();
    this.worker.postMessage(m, transfer);
  }

  private waitUntil(slot: number, value: number): void {
    for (;;) {
      this.failIfFailed();
      const now = Atomics.load(this.counters, slot);
      if (now >= value) return;
      // Woken by the writer on each step; the timeout only bounds a check of the failure flag.
      Atomics.wait(this.counters, slot, now, 200);
    }
  }

  private failIfFailed(): void {
    if (this.failure === null && Atomics.load(this.counters, SLOT.failed) !== 0) {
      const f = (receiveMessageOnPort(this.failures)?.message as WriterFailure | undefined) ?? { message: 'the ledger writer stopped' };
      const error = Object.assign(new Error(f.message), f.code === undefined ? {} : { code: f.code });
      this.failure = f.outPath === undefined ? error : (asOutputError(error, f.outPath) as Error);
    }
    if (this.failure !== null) throw this.failure;
  }
}

/**
 * The writer thread runs compiled JavaScript: from the build (dist/) its sibling, and from the sources
 * (vitest runs them) the build's copy, which `make test` makes first.
 */
function writerScript(): URL {
  const here = import.meta.url;
  const script = here.endsWith('.ts') ? new URL('../../dist/services/store/ledger-writer-thread.js', here) : new URL('./ledger-writer-thread.js', here);
  // A thread whose script is missing dies before it can say so, and the run would wait on it for ever.
  if (!existsSync(fileURLToPath(script))) throw new Error(`the ledger writer thread ${fileURLToPath(script)} is missing: build the project first (make build)`);
  return script;
}
