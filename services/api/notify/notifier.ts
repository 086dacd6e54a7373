/**
 * Delivers notices (notification.ts) to the channels of config/notifications.yaml, durably: `notify`
 * writes one row per (notice, channel) in notification_delivery (migration 022) before anything is
 * attempted, and the delivery loop started by `start` attempts the rows that are due, retrying with
 * exponential back-off and jitter until delivered or given up (failed). A restart resumes the rows
 * still pending; the same notice notified twice is one row, delivered once.
 *
 * Several `cdr serve` on one PostgreSQL share the table: a row is claimed (its next attempt pushed past
 * the attempt's timeout) by a conditional UPDATE before it is attempted, so one process attempts it.
 * Delivery is at least once (a process dying between the receiver's answer and the row's update makes
 * the row due again after the claim): receivers dedupe by x-cdr-notice-id.
 *
 * Webhooks: POST of the JSON body, signed `x-cdr-signature: sha256=<hex HMAC-SHA256 of the raw body>`;
 * 2xx delivered, timeouts, network errors, 408, 429 and 5xx retried, any other answer failed at once.
 * E-mail: nodemailer over SMTP, plain text; an SMTP 5xx (refused recipient, bad credentials) fails at
 * once, anything else is retried. The log names notice, channel, attempt and the error; never a secret
 * nor a body.
 */
import { createHmac } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Sql } from '../../store/sql.js';
import { intOf, isoOf, placeholders, timeParam } from '../../store/row-values.js';
import { noticeBody, ruleOf, severityOf, SEVERITY_ORDER, subjectIdOf, subjectOf, textOf, type Notice, type NoticeBody, type NoticeKind, type Severity } from './notification.js';
import type { Channel, EmailChannel, NotificationsConfig, WebhookChannel } from './notify-config.js';

/** Waits after attempt 1, 2, …: 5 s, 30 s, 2 min, 10 min, 1 h; given up after the 6th attempt. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [5_000, 30_000, 120_000, 600_000, 3_600_000];
export const DEFAULT_TIMEOUT_MS = 5_000;
export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** At most this many attempts at once (a receiver that never answers holds one for its timeout). */
const MAX_IN_FLIGHT = 16;

export interface NotifierOptions {
  sql: Sql;
  config: NotificationsConfig;
  logger: Logger;
  now?: () => number;
  /** Node's fetch unless given. */
  fetch?: typeof globalThis.fetch;
  retry?: {
    /** The waits after each failed attempt; their count + 1 is the number of attempts. */
    delaysMs?: readonly number[];
    /** Each wait is multiplied by a random factor in [1 - jitter, 1 + jitter]; 0.2 unless given. */
    jitter?: number;
    /** An attempt (webhook answer, SMTP exchange) taking longer fails and is retried; 5 s unless given. */
    timeoutMs?: number;
  };
  /** How often the loop looks for due rows written by other processes (its own are attempted at once); 1 s. */
  pollMs?: number;
}

export interface DeliveryFilter {
  state?: DeliveryState;
  channel?: string;
  kind?: NoticeKind;
  noticeId?: string;
  /** 50 unless given; at most 200. */
  limit?: number;
}

/** A row of the delivery log, for the desk: no secret, no body. */
export interface DeliveryView {
  notice_id: string;
  channel: string;
  kind: NoticeKind;
  subject_id: string;
  subject: string;
  state: DeliveryState;
  attempts: number;
  last_error: string;
  created_at: string;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
}

export interface ChannelView {
  channel: string;
  type: 'webhook' | 'email';
  kinds: NoticeKind[];
  rules: string[];
  min_severity: Severity;
}

type Outcome = { ok: true; detail: string } | { ok: false; permanent: boolean; error: string };

interface DueRow {
  notice_id: string;
  channel: string;
  body: string;
  attempts: number;
}

export class Notifier {
  private readonly sql: Sql;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly fetch: typeof globalThis.fetch;
  private readonly delays: readonly number[];
  private readonly jitter: number;
  private readonly timeoutMs: number;
  private readonly pollMs: number;
  private readonly channels: Map<string, Channel>;
  private readonly mailers = new Map<string, Transporter>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private started = false;
  private closed = false;
  private ticking: Promise<void> | undefined;
  private again = false;

  constructor(o: NotifierOptions) {
    this.sql = o.sql;
    this.logger = o.logger.child({ component: 'notifier' });
    this.now = o.now ?? Date.now;
    this.fetch = o.fetch ?? globalThis.fetch;
    this.delays = o.retry?.delaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.jitter = o.retry?.jitter ?? 0.2;
    this.timeoutMs = o.retry?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.pollMs = o.pollMs ?? 1_000;
    this.channels = new Map(o.config.channels.map((c) => [c.channel, c]));
  }

  /** The channels (`webhook:NAME`, `email:NAME`) whose kinds, rules and min_severity take this notice. */
  routesOf(n: Notice): Channel[] {
    const rule = ruleOf(n);
    const severity = SEVERITY_ORDER[severityOf(n)];
    return [...this.channels.values()].filter(
      (c) => c.kinds.includes(n.kind) && severity >= SEVERITY_ORDER[c.minSeverity] && (c.rules === '*' || rule === '' || c.rules.includes(rule)),
    );
  }

  /**
   * Records the notice for each channel that takes it (nothing when none does) and returns once the rows
   * are in the store; a notice already recorded for a channel is left as it is (delivered once).
   */
  async notify(n: Notice): Promise<void> {
    const channels = this.routesOf(n);
    if (channels.length === 0) return;
    const at = this.now();
    const body = noticeBody(n, at);
    const text = JSON.stringify(body);
    const params: unknown[] = [];
    const rows = channels.map((c) => `(${placeholders(8, params.push(body.notice_id, c.channel, n.kind, subjectIdOf(n), text, 'pending', timeParam(at), timeParam(at)) - 7)})`);
    // One statement: every channel's row or none.
    const added = await this.sql.query<{ channel: string }>(
      `INSERT INTO notification_delivery (notice_id, channel, kind, subject_id, body, state, next_attempt_at, created_at)
       VALUES ${rows.join(', ')} ON CONFLICT (notice_id, channel) DO NOTHING RETURNING channel`,
      params,
    );
    if (added.length === 0) return;
    this.logger.info({ notice_id: body.notice_id, kind: n.kind, channels: added.map((r) => r.channel) }, 'notice recorded');
    this.wakeAt(0);
  }

  /** Starts the delivery loop: the rows due now (pending ones of before a restart included), then as they fall due. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.wakeAt(0);
  }

  /** Stops the loop and waits for the attempts under way (each ends within its timeout). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.ticking;
    await Promise.allSettled([...this.inFlight.values()]);
    for (const m of this.mailers.values()) m.close();
    this.mailers.clear();
  }

  /** The channels configured, without URL, address or secret. */
  channelList(): ChannelView[] {
    return [...this.channels.values()].map((c) => ({
      channel: c.channel, type: c.type, kinds: [...c.kinds], rules: c.rules === '*' ? ['*'] : [...c.rules], min_severity: c.minSeverity,
    }));
  }

  /** The delivery log, newest first. */
  async deliveries(f: DeliveryFilter = {}): Promise<DeliveryView[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (f.state !== undefined) where.push(`state = $${params.push(f.state)}`);
    if (f.channel !== undefined) where.push(`channel = $${params.push(f.channel)}`);
    if (f.kind !== undefined) where.push(`kind = $${params.push(f.kind)}`);
    if (f.noticeId !== undefined) where.push(`notice_id = $${params.push(f.noticeId)}`);
    const limit = Math.min(Math.max(f.limit ?? 50, 1), 200);
    const rows = await this.sql.query<Record<string, unknown>>(
      `SELECT * FROM notification_delivery ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, notice_id, channel LIMIT $${params.push(limit)}`,
      params,
    );
    return rows.map((r) => {
      const state = r.state as DeliveryState;
      return {
        notice_id: String(r.notice_id), channel: String(r.channel), kind: r.kind as NoticeKind, subject_id: String(r.subject_id),
        subject: subjectOf(JSON.parse(String(r.body)) as NoticeBody), state, attempts: intOf(r.attempts), last_error: String(r.last_error ?? ''),
        created_at: isoOf(r.created_at) ?? '', last_attempt_at: isoOf(r.last_attempt_at),
        next_attempt_at: state === 'pending' ? isoOf(r.next_attempt_at) : null, delivered_at: isoOf(r.delivered_at),
      };
    });
  }

  // ---- the loop ------------------------------------------------------------------------------

  /** Runs a pass at `ms` (epoch, now()'s clock), or at the pass already planned if it is sooner. */
  private wakeAt(ms: number): void {
    if (this.closed || !this.started) return;
    if (this.timer !== undefined && this.timerAt <= ms) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = ms;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.run();
    }, Math.max(0, ms - this.now()));
  }

  /** One pass at a time: a pass asked for during another runs right after it. */
  private run(): void {
    if (this.closed) return;
    if (this.ticking !== undefined) {
      this.again = true;
      return;
    }
    this.ticking = this.pass().finally(() => {
      this.ticking = undefined;
      if (this.again) {
        this.again = false;
        this.run();
      }
    });
  }

  /** Claims the rows due now (up to the free slots) and starts their attempts; plans the next pass. */
  private async pass(): Promise<void> {
    try {
      const free = MAX_IN_FLIGHT - this.inFlight.size;
      const channels = [...this.channels.keys()];
      // Rows of a channel not configured here (removed from the file, or another process's) stay pending.
      if (free > 0 && channels.length > 0) {
        const now = this.now();
        const due = await this.sql.query<Record<string, unknown>>(
          `SELECT notice_id, channel FROM notification_delivery
            WHERE state = 'pending' AND next_attempt_at <= $1 AND channel IN (${placeholders(channels.length, 3)})
            ORDER BY next_attempt_at LIMIT $2`,
          [timeParam(now), free + this.inFlight.size, ...channels],
        );
        for (const d of due) {
          const key = `${String(d.notice_id)}\u0000${String(d.channel)}`;
          if (this.closed || this.inFlight.has(key) || this.inFlight.size >= MAX_IN_FLIGHT) continue;
          const row = await this.claim(String(d.notice_id), String(d.channel), now);
          if (row === undefined) continue;
          const attempt = this.attempt(row).finally(() => {
            this.inFlight.delete(key);
            this.wakeAt(0);
          });
          this.inFlight.set(key, attempt);
        }
      }
    } catch (e) {
      this.logger.error({ err: { message: (e as Error).message } }, 'notification loop: reading the delivery table failed; retrying');
    }
    this.wakeAt(this.now() + this.pollMs);
  }

  /** Pushes the row's next attempt past this attempt's timeout, if it is still due: no other process attempts it meanwhile. */
  private async claim(noticeId: string, channel: string, now: number): Promise<DueRow | undefined> {
    const lease = now + this.timeoutMs * 2 + 30_000;
    const [row] = await this.sql.query<Record<string, unknown>>(
      `UPDATE notification_delivery SET next_attempt_at = $1
        WHERE notice_id = $2 AND channel = $3 AND state = 'pending' AND next_attempt_at <= $4
        RETURNING notice_id, channel, body, attempts`,
      [timeParam(lease), noticeId, channel, timeParam(now)],
    );
    return row === undefined ? undefined : { notice_id: String(row.notice_id), channel: String(row.channel), body: String(row.body), attempts: intOf(row.attempts) };
  }

  private async attempt(row: DueRow): Promise<void> {
    const attempt = row.attempts + 1;
    // Only rows of configured channels are claimed.
    const channel = this.channels.get(row.channel)!;
    let outcome: Outcome;
    try {
      outcome = channel.type === 'webhook' ? await this.post(channel, row) : await this.mail(channel, row);
    } catch (e) {
      outcome = { ok: false, permanent: false, error: (e as Error).message };
    }
    const at = this.now();
    const log = { notice_id: row.notice_id, channel: row.channel, attempt };
    try {
      if (outcome.ok) {
        await this.sql.query(
          `UPDATE notification_delivery SET state = 'delivered', attempts = $1, last_attempt_at = $2, delivered_at = $2, next_attempt_at = NULL, last_error = ''
            WHERE notice_id = $3 AND channel = $4`,
          [attempt, timeParam(at), row.notice_id, row.channel],
        );
        this.logger.info({ ...log, result: outcome.detail }, 'notification delivered');
      } else if (outcome.permanent || attempt > this.delays.length) {
        await this.sql.query(
          `UPDATE notification_delivery SET state = 'failed', attempts = $1, last_attempt_at = $2, next_attempt_at = NULL, last_error = $3
            WHERE notice_id = $4 AND channel = $5`,
          [attempt, timeParam(at), outcome.error, row.notice_id, row.channel],
        );
        this.logger.error({ ...log, error: outcome.error }, outcome.permanent ? 'notification failed (not retried)' : `notification failed after ${attempt} attempts`);
      } else {
        const wait = Math.round(this.delays[attempt - 1]! * (1 + this.jitter * (2 * Math.random() - 1)));
        await this.sql.query(
          `UPDATE notification_delivery SET attempts = $1, last_attempt_at = $2, next_attempt_at = $3, last_error = $4
            WHERE notice_id = $5 AND channel = $6`,
          [attempt, timeParam(at), timeParam(at + wait), outcome.error, row.notice_id, row.channel],
        );
        this.logger.warn({ ...log, error: outcome.error, retry_in_ms: wait }, 'notification attempt failed; will retry');
        this.wakeAt(at + wait);
      }
    } catch (e) {
      // The row keeps its claim and is attempted again once the claim runs out.
      this.logger.error({ ...log, err: { message: (e as Error).message } }, 'notification: recording the attempt failed');
    }
  }

  private async post(c: WebhookChannel, row: DueRow): Promise<Outcome> {
    const signature = createHmac('sha256', c.secret.reveal()).update(row.body, 'utf8').digest('hex');
    let res: Response;
    try {
      res = await this.fetch(c.url, {
        method: 'POST',
        body: row.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'cdr-notifier',
          'x-cdr-signature': `sha256=${signature}`,
          'x-cdr-timestamp': String(Math.floor(this.now() / 1000)),
          'x-cdr-notice-id': row.notice_id,
        },
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      if (err.name === 'TimeoutError' || err.name === 'AbortError') return { ok: false, permanent: false, error: `no answer within ${this.timeoutMs} ms` };
      return { ok: false, permanent: false, error: err.cause?.message ?? err.cause?.code ?? err.message };
    }
    // The answer's body is not read: only its status counts.
    await res.body?.cancel().catch(() => {});
    const s = res.status;
    if (s >= 200 && s < 300) return { ok: true, detail: `HTTP ${s}` };
    if (s === 408 || s === 429 || s >= 500) return { ok: false, permanent: false, error: `HTTP ${s}` };
    if (s >= 300 && s < 400) return { ok: false, permanent: true, error: `HTTP ${s}: the receiver redirects; configure the URL it redirects to` };
    return { ok: false, permanent: true, error: `HTTP ${s}: the receiver refused the notice` };
  }

  private async mail(c: EmailChannel, row: DueRow): Promise<Outcome> {
    const body = JSON.parse(row.body) as NoticeBody;
    try {
      const info = (await this.mailerOf(c).sendMail({
        from: c.from,
        to: [...c.to],
        subject: subjectOf(body),
        text: textOf(body),
        headers: { 'x-cdr-notice-id': row.notice_id },
      })) as { response?: string };
      return { ok: true, detail: String(info.response ?? 'accepted') };
    } catch (e) {
      const err = e as Error & { responseCode?: number; code?: string };
      const permanent = err.responseCode !== undefined && err.responseCode >= 500 && err.responseCode < 600;
      return { ok: false, permanent, error: `${err.code === undefined ? '' : `${err.code}: `}${err.message}` };
    }
  }

  private mailerOf(c: EmailChannel): Transporter {
    let m = this.mailers.get(c.channel);
    if (m === undefined) {
      m = nodemailer.createTransport({
        host: c.smtp.host,
        port: c.smtp.port,
        secure: c.smtp.secure,
        ...(c.smtp.user === undefined ? {} : { auth: { user: c.smtp.user, pass: c.smtp.password?.reveal() ?? '' } }),
        connectionTimeout: this.timeoutMs,
        greetingTimeout: this.timeoutMs,
        socketTimeout: this.timeoutMs,
      });
      this.mailers.set(c.channel, m);
    }
    return m;
  }
}
