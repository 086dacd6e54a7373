/**
 * Changes in PostgreSQL: migration 018's triggers NOTIFY cdr_desk_change for every changed alert and new
 * audit event, from whichever process wrote them (this desk, another desk, the streaming workers). One
 * dedicated connection LISTENs (a pooled connection could not: LISTEN belongs to a session). When the
 * connection drops, it reconnects every 2 s and then tells pages to reload, since what was notified in
 * between is lost.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { MAX_CHANGES_PER_BATCH, capped, changeOf, type ChangeSource, type DeskChange } from './desk-changes.js';

const CHANNEL = 'cdr_desk_change';
const RECONNECT_MS = 2_000;
/** Notifications of one transaction (a worker's batch) arrive together: they are sent as one batch. */
const GATHER_MS = 20;

export class PostgresChangeListener implements ChangeSource {
  private emit: (changes: DeskChange[]) => void = () => {};
  private client: pg.Client | undefined;
  private pending: DeskChange[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private lost = false;

  constructor(private readonly url: string, private readonly log: Logger) {}

  async start(emit: (changes: DeskChange[]) => void): Promise<void> {
    this.emit = emit;
    await this.connect();
  }

  /** The database notifies this process's own writes too. */
  poke(): void {}

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.flushTimer);
    await this.client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (n) => {
      if (n.channel !== CHANNEL) return;
      let payload: unknown;
      try {
        payload = JSON.parse(n.payload ?? '');
      } catch {
        payload = undefined;
      }
      this.queue(changeOf(payload));
    });
    const dropped = () => {
      if (this.client !== client || this.closed) return;
      this.client = undefined;
      this.lost = true;
      this.log.warn('desk live updates: lost the PostgreSQL LISTEN connection; reconnecting (pages poll meanwhile)');
      this.retryLater();
    };
    client.on('error', dropped);
    client.on('end', dropped);
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (e) {
      this.client = undefined;
      await client.end().catch(() => {});
      if (!this.lost) throw e; // at start: the caller says why `cdr serve` cannot listen
      this.retryLater();
      return;
    }
    if (this.lost) {
      this.lost = false;
      this.log.info('desk live updates: listening again');
      this.queue({ type: 'resync' });
    }
  }

  private retryLater(): void {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), RECONNECT_MS);
    this.retryTimer.unref();
  }

  private queue(change: DeskChange): void {
    // Past the cap the batch becomes a resync anyway: a worker's big batch costs no memory here.
    if (this.pending.length <= MAX_CHANGES_PER_BATCH) this.pending.push(change);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      const batch = this.pending;
      this.pending = [];
      this.emit(capped(batch));
    }, GATHER_MS);
  }
}
