/**
 * Live updates of the desk (issue 20): a change source for the store (PostgreSQL NOTIFY, or SQLite's
 * data_version looked at every 500 ms) feeding the pages' event streams.
 */
import type { Logger } from 'pino';
import type { Sql } from '../../store/sql.js';
import type { ChangeSource } from './desk-changes.js';
import { EventStreams, type StreamOptions, DEFAULT_STREAM_OPTIONS } from './event-stream.js';
import { PostgresChangeListener } from './postgres-changes.js';
import { SqliteChangeWatcher } from './sqlite-changes.js';

export interface LiveOptions {
  sql: Sql;
  databaseUrl: string | undefined;
  logger: Logger;
  /** How often the embedded store is looked at (ms). */
  pollMs?: number;
  stream?: Partial<StreamOptions>;
}

export class LiveUpdates {
  readonly streams: EventStreams;
  private readonly source: ChangeSource;

  constructor(private readonly o: LiveOptions) {
    this.streams = new EventStreams({ ...DEFAULT_STREAM_OPTIONS, ...o.stream });
    this.source = o.databaseUrl !== undefined ? new PostgresChangeListener(o.databaseUrl, o.logger) : new SqliteChangeWatcher(o.sql, o.pollMs ?? 500);
  }

  /** Never fails the server: without a source the pages keep their fallback poll. */
  async start(): Promise<void> {
    try {
      await this.source.start((changes) => this.streams.broadcast(changes));
    } catch (e) {
      this.o.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'desk live updates unavailable: pages fall back to polling');
    }
  }

  /** A write of this process committed. */
  written(): void {
    this.source.poke();
  }

  async close(): Promise<void> {
    await this.streams.closeAll();
    await this.source.close();
  }
}
