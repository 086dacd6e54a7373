/**
 * What the rater reads back between runs, and from where: the saved counters of a scope's month, and,
 * rarely, the calls of one scope's month (a late call that moves a ranking, a retroactive crossing).
 * The embedded runtime answers from SQLite, the streaming workers from PostgreSQL, tests from memory.
 */
import type { Cdr } from '../cdr.js';
import type { SavedCounter } from '../fair-use/monthly-counter.js';
import type { Money } from '../money.js';
import type { ScopeMonth } from './plan-counters.js';
import type { RatedCall } from './rater.js';

/** A call as the ledger keeps it: the CDR, what invoicing was told it costs, and its priced seconds per clause. */
export interface StoredCall {
  cdr: Cdr;
  billed: Money;
  /** `clause:seconds` for each clause that prices part of it (`0:60;pool:30`); empty when none. */
  shares: string;
}

export interface RatingState {
  /**
   * A counter's saved state (by its key, of a client's month); null when it has none yet; undefined when
   * it is not at hand (the shell fetches the client's month, then rates again).
   */
  counter(key: string, clientId: string, period: string): SavedCounter | null | undefined;
  /** The calls billed so far in a scope's month (not those since the last drain: the rater has them); undefined when not at hand. */
  calls(scope: ScopeMonth): readonly (StoredCall | RatedCall)[] | undefined;
}

/** Thrown before anything changed when a call needs state the shell has not fetched yet. */
export class StateNeeded extends Error {
  constructor(
    readonly counters: string[],
    readonly scopes: ScopeMonth[],
  ) {
    super(`rating needs ${counters.length} counter(s) and ${scopes.length} scope month(s) from the store`);
  }
}

export function scopeMonthKey(s: ScopeMonth): string {
  return `${s.clientId}|${s.period}|${s.scope}|${s.scopeId}`;
}

/** Encodes a call's shares for the ledger. */
export function formatShares(shares: Iterable<[number | 'pool', number]>): string {
  const parts: string[] = [];
  for (const [clause, seconds] of shares) if (seconds > 0) parts.push(`${clause}:${seconds}`);
  return parts.join(';');
}

export function parseShares(text: string): [number | 'pool', number][] {
  if (text === '') return [];
  return text.split(';').map((p) => {
    const [clause, seconds] = p.split(':');
    return [clause === 'pool' ? 'pool' : Number(clause), Number(seconds)];
  });
}
