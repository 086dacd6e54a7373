/**
 * Policies that act (config/fraud.yaml `policies`): what an alert of a rule does to the accounts in its
 * scope — nothing, or a lock level at once, lifted by a person (`lift: review`) or by itself after
 * `for_minutes` (`lift: expiry`). A policy never weakens a lock in force, and no lock ever bars an
 * emergency call (call-authorization.ts answers those first).
 */
import type { Subscriber } from '../cdr.js';
import type { LockLevel } from './lock-levels.js';

export interface LockPolicy {
  lock: LockLevel;
  lift: 'review' | 'expiry';
  for_minutes?: number | undefined;
}

/** What the policy needs of an alert: its rule and scope (client, and site and user when it names them). */
export interface AlertInScope {
  alertId: string;
  rule: string;
  clientId: string;
  siteId: string;
  userId: string;
}

export interface PolicyLock {
  subscriber: Subscriber;
  level: LockLevel;
  expiresAtMs: number | null;
}

const STRENGTH: Record<LockLevel, number> = { none: 0, foreign: 1, outgoing: 2, all: 3 };

/** Whether `level` bars at least what `than` bars. */
export function atLeast(level: LockLevel, than: LockLevel): boolean {
  return STRENGTH[level] >= STRENGTH[than];
}

/** The subscribers an alert speaks of: its user's lines, else its site's, else the whole client's. */
export function inScope(alert: AlertInScope, subscribers: readonly Subscriber[]): Subscriber[] {
  return subscribers.filter(
    (s) => s.clientId === alert.clientId && (alert.siteId === '' || s.siteId === alert.siteId) && (alert.userId === '' || s.userId === alert.userId),
  );
}

/** The locks the policy sets: every account in scope whose lock in force bars less than the policy's level. */
export function locksFor(alert: AlertInScope, policy: LockPolicy, subscribers: readonly Subscriber[], lockOf: (account: string) => LockLevel, nowMs: number): PolicyLock[] {
  if (policy.lock === 'none') return [];
  const expiresAtMs = policy.lift === 'expiry' ? nowMs + policy.for_minutes! * 60_000 : null;
  return inScope(alert, subscribers)
    .filter((s) => !atLeast(lockOf(s.account), policy.lock))
    .map((subscriber) => ({ subscriber, level: policy.lock, expiresAtMs }));
}
