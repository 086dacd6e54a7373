/**
 * The PostgreSQL store of the streaming runtime: rating results (the ledger), and the state the stages
 * read back — saved counters per clause, scope and month, detector windows per client, and, rarely, one
 * scope's month of calls. Results, state and offsets are written in one transaction and never disagree.
 */
import type { Alert } from '../core/alert.js';
import type { SavedCounter } from '../core/fair-use/monthly-counter.js';
import type { SavedFraudState } from '../core/fraud/fraud-detector.js';
import { Money } from '../core/money.js';
import type { ScopeMonth } from '../core/rating/plan-counters.js';
import { sharesOf, type CounterRow, type RatedCall } from '../core/rating/rater.js';
import type { StoredCall } from '../core/rating/rating-state.js';
import type { Cdr, LineType, Subscriber } from '../core/cdr.js';
import { cdrOfLedgerRow } from './ledger-row.js';
import type { Reject } from '../ingest/source-record.js';
import { REPLAYABLE_REASONS } from './rejects.js';
import { rowsWithKeys, type CopyValue, type PgTx, type Sql } from './sql.js';

/** A rated call as stored and as written to rated.csv. */
export interface RatedRow {
  cdr: Cdr;
  period: string;
  destinationClass: string;
  country: string;
  inBundle: boolean;
  pricedSeconds: number;
  amount: string;
  currency: string;
  reason: string;
  /** The call's shares per clause (stored, not published). */
  shares?: string;
}

export interface AdjustmentRow {
  cdrId: string;
  clientId: string;
  siteId: string;
  userId: string;
  planId: string;
  period: string;
  previousAmount: string;
  newAmount: string;
  delta: string;
  reason: string;
  inBundle: boolean;
  pricedSeconds: number;
  shares: string;
}

export interface ResultBatch {
  rated: RatedRow[];
  adjustments: AdjustmentRow[];
  /** Calls whose shares or reason moved but not their price. */
  restated: RatedRow[];
  alerts: Alert[];
  /** With the checksum of the file they come from, where the shell knows it. */
  rejects: (Reject & { checksum?: string })[];
  counters: CounterRow[];
  fraudStates: { clientId: string; saved: SavedFraudState }[];
}

const CHUNK = 20_000;

/** An amount of a call as invoicing sees it: a decimal string with the decimals of its tariff entry. */
export function billedAmount(call: RatedCall, amount: Money): string {
  return amount.toFixed(call.entry.decimals);
}

/** How a rated call is stored and published. */
export function ratedRowOf(call: RatedCall): RatedRow {
  return {
    cdr: call.cdr,
    period: call.period,
    destinationClass: call.dest.cls,
    country: call.dest.country,
    inBundle: call.inBundle,
    pricedSeconds: call.pricedSeconds,
    amount: billedAmount(call, call.amount),
    currency: call.plan.tariffTable.currency,
    reason: call.reason,
    shares: sharesOf(call),
  };
}

/** The correction of a call billed at `previous`. */
export function adjustmentOf(call: RatedCall, previous: Money): AdjustmentRow {
  const text = (m: Money) => billedAmount(call, m);
  const s = call.cdr.subscriber;
  return {
    cdrId: call.cdrId,
    clientId: s.clientId,
    siteId: s.siteId,
    userId: s.userId,
    planId: s.planId,
    period: call.period,
    previousAmount: text(previous),
    newAmount: text(call.amount),
    delta: text(call.amount.minus(previous)),
    reason: call.reason,
    inBundle: call.inBundle,
    pricedSeconds: call.pricedSeconds,
    shares: sharesOf(call),
  };
}


export class RatingStore {
  constructor(readonly sql: Sql) {}

  /** Saved counters of these client months, by key. */
  async countersOf(clientPeriods: { clientId: string; period: string }[]): Promise<Map<string, SavedCounter>> {
    const out = new Map<string, SavedCounter>();
    for (let i = 0; i < clientPeriods.length; i += 500) {
      const chunk = clientPeriods.slice(i, i + 500);
      const rows = await this.sql.query<{ key: string; state: string }>(
        `SELECT c.key, c.state FROM counter_state c JOIN unnest($1::text[], $2::text[]) AS k(client_id, period)
           ON c.client_id = k.client_id AND c.period = k.period`,
        [chunk.map((c) => c.clientId), chunk.map((c) => c.period)],
      );
      for (const r of rows) out.set(r.key, JSON.parse(r.state) as SavedCounter);
    }
    return out;
  }

  /** The billed calls of one scope's month (a late call or a retroactive crossing re-prices them). */
  async callsOf(scope: ScopeMonth): Promise<StoredCall[]> {
    const column = scope.scope === 'user' ? 'user_id' : scope.scope === 'line' ? 'account' : scope.scope === 'site' ? 'site_id' : 'client_id';
    const rows = await this.sql.query<Record<string, unknown>>(`SELECT * FROM rated_cdr WHERE client_id = $1 AND period = $2 AND ${column} = $3`, [scope.clientId, scope.period, scope.scopeId]);
    // One subscriber object per line and terms, not per call: the calls are kept for the late CDRs that follow.
    const subscribers = new Map<string, Subscriber>();
    return rows.map((row) => ({ cdr: cdrOfRow(row, subscribers), billed: new Money(String(row.amount)), shares: String(row.shares ?? '') }));
  }

  /** Saved detector states of these clients. */
  async fraudStatesOf(clientIds: string[]): Promise<Map<string, SavedFraudState>> {
    const rows = await this.sql.query<{ client_id: string; state: string }>('SELECT client_id, state FROM fraud_state WHERE client_id = ANY($1::text[])', [clientIds]);
    return new Map(rows.map((r) => [r.client_id, JSON.parse(r.state) as SavedFraudState]));
  }

  /** Which of these cdr_ids were rated before, and for which client (a duplicate may be in a month not loaded). */
  async knownCdrIds(ids: string[]): Promise<Map<string, string>> {
    const rows = await rowsWithKeys<{ cdr_id: string; client_id: string }>(this.sql, 'rated_cdr', 'cdr_id', ['cdr_id', 'client_id'], ids);
    return new Map(rows.map((r) => [r.cdr_id, r.client_id]));
  }
}

/** Writes a batch of results inside the caller's transaction (a worker adds its consumed offsets to it). */
export async function writeResults(tx: PgTx, batch: Partial<ResultBatch>): Promise<void> {
  const { rated = [], adjustments = [], restated = [], alerts = [], rejects = [], counters = [], fraudStates = [] } = batch;
  for (let i = 0; i < rated.length; i += CHUNK) await insertRated(tx, rated.slice(i, i + CHUNK));
  for (let i = 0; i < adjustments.length; i += CHUNK) await insertAdjustments(tx, adjustments.slice(i, i + CHUNK));
  if (restated.length > 0) await restate(tx, restated);
  for (const a of alerts) await upsertAlert(tx, a);
  for (let i = 0; i < rejects.length; i += CHUNK) await upsertRejects(tx, rejects.slice(i, i + CHUNK));
  for (let i = 0; i < counters.length; i += CHUNK) await upsertCounters(tx, counters.slice(i, i + CHUNK));
  await tx.upsert('fraud_state', ['client_id', 'state'], ['client_id'], ['state'], fraudStates.map((f) => [f.clientId, JSON.stringify(f.saved)]));
}

async function upsertCounters(tx: PgTx, rows: CounterRow[]): Promise<void> {
  await tx.upsert(
    'counter_state',
    ['key', 'client_id', 'site_id', 'user_id', 'scope', 'scope_key', 'period', 'rule', 'value', 'threshold', 'crossed_at', 'state'],
    ['key'],
    ['value', 'threshold', 'crossed_at', 'state'],
    rows.map((r) => [
      r.key, r.clientId, r.siteId, r.userId, r.scope, r.scopeKey, r.period, r.rule, r.value, r.threshold,
      r.crossedAtMs === null ? null : new Date(r.crossedAtMs).toISOString(), JSON.stringify(r.saved),
    ]),
  );
}

async function restate(tx: PgTx, rows: RatedRow[]): Promise<void> {
  const col = <T>(f: (r: RatedRow) => T): T[] => rows.map(f);
  await tx.query(
    `UPDATE rated_cdr c SET reason = k.reason, in_bundle = k.in_bundle, priced_seconds = k.priced, shares = k.shares, updated_at = now()
       FROM unnest($1::text[], $2::text[], $3::boolean[], $4::int[], $5::text[]) AS k(cdr_id, reason, in_bundle, priced, shares)
      WHERE c.cdr_id = k.cdr_id`,
    [col((r) => r.cdr.cdrId), col((r) => r.reason), col((r) => r.inBundle), col((r) => r.pricedSeconds), col((r) => r.shares ?? '')],
  );
}

const RATED_COLUMNS = [
  'cdr_id', 'client_id', 'site_id', 'user_id', 'plan_id', 'account', 'line_type', 'channels', 'automated', 'period',
  'start_time', 'answer_time', 'end_time', 'caller', 'callee', 'destination_class', 'country', 'billable_seconds', 'disposition',
  'direction', 'leg', 'forward_reason', 'device', 'in_bundle', 'priced_seconds', 'amount', 'currency', 'reason', 'source', 'source_line',
  'caller_original', 'first_amount', 'shares',
] as const;

function ratedValues(r: RatedRow): CopyValue[] {
  const c = r.cdr;
  const s = c.subscriber;
  return [
    c.cdrId, s.clientId, s.siteId, s.userId, s.planId, c.account, s.lineType, s.channels, s.automated, r.period,
    new Date(c.startMs).toISOString(), c.answerMs === null ? null : new Date(c.answerMs).toISOString(), new Date(c.endMs).toISOString(),
    c.caller, c.callee, r.destinationClass, r.country, c.billableSeconds, c.disposition, c.direction, c.leg, c.forwardReason,
    c.device, r.inBundle, r.pricedSeconds, r.amount, r.currency, r.reason, c.source, c.line, c.callerOriginal, r.amount, r.shares ?? '',
  ];
}

/**
 * COPY, not a multi-row INSERT: PostgreSQL parses no parameter arrays. A cdr_id already stored makes the
 * whole batch fail: the rater believed the call new, so its state is stale.
 */
async function insertRated(tx: PgTx, rows: RatedRow[]): Promise<void> {
  await tx.copy('rated_cdr', RATED_COLUMNS, rows.map(ratedValues));
  // A record rated now that was rejected before (unknown subscriber since added) leaves the rejects. Most
  // batches come from files without such rejects: one indexed probe by file says so.
  const sources = [...new Set(rows.map((r) => r.cdr.source))];
  const replayable = await tx.query('SELECT 1 FROM rejected_record WHERE source = ANY($1::text[]) AND reason = ANY($2::text[]) LIMIT 1', [sources, REPLAYABLE_REASONS]);
  if (replayable.length === 0) return;
  const col = <T>(f: (r: RatedRow) => T): T[] => rows.map(f);
  await tx.query(
    `DELETE FROM rejected_record r USING unnest($1::text[], $2::int[]) AS k(source, line)
      WHERE r.source = k.source AND r.line = k.line AND r.reason = ANY($3::text[])`,
    [col((r) => r.cdr.source), col((r) => r.cdr.line), REPLAYABLE_REASONS],
  );
}

async function insertAdjustments(tx: PgTx, rows: AdjustmentRow[]): Promise<void> {
  const col = <T>(f: (r: AdjustmentRow) => T): T[] => rows.map(f);
  await tx.query(
    `INSERT INTO adjustment (cdr_id, client_id, site_id, user_id, plan_id, period, previous_amount, new_amount, delta, reason)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::numeric[], $8::numeric[], $9::numeric[], $10::text[])`,
    [
      col((r) => r.cdrId), col((r) => r.clientId), col((r) => r.siteId), col((r) => r.userId), col((r) => r.planId), col((r) => r.period),
      col((r) => r.previousAmount), col((r) => r.newAmount), col((r) => r.delta), col((r) => r.reason),
    ],
  );
  await tx.query(
    `UPDATE rated_cdr c SET amount = k.amount, reason = k.reason, in_bundle = k.in_bundle, priced_seconds = k.priced, shares = k.shares, updated_at = now()
       FROM unnest($1::text[], $2::numeric[], $3::text[], $4::boolean[], $5::int[], $6::text[]) AS k(cdr_id, amount, reason, in_bundle, priced, shares)
      WHERE c.cdr_id = k.cdr_id`,
    [col((r) => r.cdrId), col((r) => r.newAmount), col((r) => r.reason), col((r) => r.inBundle), col((r) => r.pricedSeconds), col((r) => r.shares)],
  );
}

async function upsertAlert(tx: PgTx, a: Alert): Promise<void> {
  await tx.query(
    `INSERT INTO alert (alert_id, rule, severity, client_id, site_id, user_id, first_seen, last_seen, value, threshold, cdr_ids, message)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (alert_id) DO UPDATE SET first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen,
       value = EXCLUDED.value, threshold = EXCLUDED.threshold, cdr_ids = EXCLUDED.cdr_ids, message = EXCLUDED.message,
       severity = EXCLUDED.severity, updated_at = now()`,
    [a.alertId, a.rule, a.severity, a.clientId, a.siteId, a.userId, new Date(a.firstSeenMs).toISOString(), new Date(a.lastSeenMs).toISOString(), a.value, a.threshold, JSON.stringify(a.cdrIds), a.message],
  );
}

async function upsertRejects(tx: PgTx, rows: (Reject & { checksum?: string })[]): Promise<void> {
  await tx.query(
    `INSERT INTO rejected_record (source_checksum, source, line, reason, detail, raw, raw_encoding)
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::text[])
     ON CONFLICT (source_checksum, source, line) DO UPDATE SET reason = EXCLUDED.reason, detail = EXCLUDED.detail,
       raw = EXCLUDED.raw, raw_encoding = EXCLUDED.raw_encoding, seen_at = now()`,
    [
      rows.map((r) => r.checksum ?? `path:${r.source}`), rows.map((r) => r.source), rows.map((r) => r.line), rows.map((r) => r.reason),
      rows.map((r) => r.detail), rows.map((r) => r.raw), rows.map((r) => r.rawEncoding ?? ''),
    ],
  );
}

function cdrOfRow(row: Record<string, unknown>, subscribers: Map<string, Subscriber>): Cdr {
  const key = `${row.account}|${row.site_id}|${row.user_id}|${row.plan_id}|${row.line_type}|${row.channels}|${row.automated}`;
  let subscriber = subscribers.get(key);
  if (subscriber === undefined) subscribers.set(key, (subscriber = subscriberOfRow(row)));
  return cdrOfLedgerRow(row, subscriber, String(row.source));
}

function subscriberOfRow(row: Record<string, unknown>): Subscriber {
  return {
    account: String(row.account),
    clientId: String(row.client_id),
    siteId: String(row.site_id),
    userId: String(row.user_id),
    planId: String(row.plan_id),
    lineType: row.line_type as LineType,
    channels: Number(row.channels),
    automated: Boolean(row.automated),
    numbers: [],
  };
}
