/**
 * Changes in the embedded store. SQLite cannot tell a connection that another one committed, so the
 * desk looks every half second: `PRAGMA data_version` (no I/O: a counter the connection keeps) moves
 * when another process (`cdr rate`, a second `cdr serve`, a `cdr close`) committed, and only then are
 * the alerts changed since the last look and the audit events after the last one read, by index. This
 * process's own writes do not move data_version, so the server pokes after each of them.
 */
import type { Sql } from '../../store/sql.js';
import { intOf, msOf, timeParam } from '../../store/row-values.js';
import { capped, type ChangeSource, type DeskChange } from './desk-changes.js';

/**
 * Writers stamp updated_at with their own clock before they commit, so a row can appear with a time a
 * little before the newest one already seen: alerts are re-read this far back and told only once.
 */
const CLOCK_LAG_MS = 10_000;
const READ_LIMIT = 500;

export class SqliteChangeWatcher implements ChangeSource {
  private emit: (changes: DeskChange[]) => void = () => {};
  private timer: NodeJS.Timeout | undefined;
  private version = -1;
  private lastEventId = 0;
  private newestAlertMs = 0;
  /** Alerts told, with the updated_at told, while within the lag window. */
  private told = new Map<string, number>();
  private running = false;
  private again = false;
  private poked = false;

  constructor(private readonly sql: Sql, private readonly intervalMs = 500) {}

  async start(emit: (changes: DeskChange[]) => void): Promise<void> {
    this.emit = emit;
    this.version = await this.dataVersion();
    const [e] = await this.sql.query<{ id: unknown }>('SELECT MAX(event_id) AS id FROM audit_event');
    this.lastEventId = intOf(e?.id);
    const [a] = await this.sql.query<{ at: unknown }>('SELECT MAX(updated_at) AS at FROM alert');
    this.newestAlertMs = msOf(a?.at) ?? 0;
    // What is already there is not news: the first look must not announce the last seconds' alerts again.
    await this.changedAlerts();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  poke(): void {
    this.poked = true;
    void this.tick();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }

  private async dataVersion(): Promise<number> {
    const [row] = await this.sql.query<{ data_version: unknown }>('PRAGMA data_version');
    return intOf(row?.data_version);
  }

  private async tick(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        const version = await this.dataVersion();
        if (version === this.version && !this.poked) continue;
        this.version = version;
        this.poked = false;
        const changes = [...(await this.newEvents()), ...(await this.changedAlerts())];
        if (changes.length > 0) this.emit(capped(changes));
      } while (this.again);
    } catch {
      // A busy or closing database: the next tick looks again, and pages keep their fallback poll.
    } finally {
      this.running = false;
    }
  }

  private async newEvents(): Promise<DeskChange[]> {
    const rows = await this.sql.query<{ event_id: unknown; subject_type: string; subject_id: string; action: string }>(
      'SELECT event_id, subject_type, subject_id, action FROM audit_event WHERE event_id > $1 ORDER BY event_id LIMIT $2',
      [this.lastEventId, READ_LIMIT],
    );
    if (rows.length === 0) return [];
    this.lastEventId = intOf(rows[rows.length - 1]!.event_id);
    if (rows.length === READ_LIMIT) {
      // More than a page can use: skip to the end and have pages reload.
      const [e] = await this.sql.query<{ id: unknown }>('SELECT MAX(event_id) AS id FROM audit_event');
      this.lastEventId = intOf(e?.id);
      return [{ type: 'resync' }];
    }
    return rows.map((r) => ({ type: 'audit', subject_type: r.subject_type, subject_id: r.subject_id, action: r.action }));
  }

  private async changedAlerts(): Promise<DeskChange[]> {
    const rows = await this.sql.query<{ alert_id: string; updated_at: unknown }>(
      'SELECT alert_id, updated_at FROM alert WHERE updated_at > $1 ORDER BY updated_at LIMIT $2',
      [timeParam(this.newestAlertMs - CLOCK_LAG_MS), READ_LIMIT],
    );
    const out: DeskChange[] = [];
    for (const r of rows) {
      const at = msOf(r.updated_at) ?? 0;
      if (this.told.get(r.alert_id) === at) continue;
      this.told.set(r.alert_id, at);
      this.newestAlertMs = Math.max(this.newestAlertMs, at);
      out.push({ type: 'alert', alert_id: r.alert_id });
    }
    for (const [id, at] of this.told) if (at <= this.newestAlertMs - CLOCK_LAG_MS) this.told.delete(id);
    if (rows.length === READ_LIMIT) {
      const [a] = await this.sql.query<{ at: unknown }>('SELECT MAX(updated_at) AS at FROM alert');
      this.newestAlertMs = msOf(a?.at) ?? this.newestAlertMs;
      return [{ type: 'resync' }];
    }
    return out;
  }
}
