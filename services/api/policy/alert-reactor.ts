/**
 * Policies that act, in `cdr serve` (the process the switch asks): every second, each alert created in
 * the last day that nothing reacted to gets its rule's policy (config/fraud.yaml `policies`, decided by
 * core/fraud/lock-policy.ts) — the accounts in its scope locked at once, the lock, the alert's claim and
 * the audit events in one transaction — and every policy lock whose time ran out is lifted, audited.
 * Whoever wrote the alert (a `cdr rate` run, the streaming workers), the reaction happens here once.
 */
import type { Logger } from 'pino';
import { locksFor, type LockPolicy } from '../../core/fraud/lock-policy.js';
import type { FraudConfig } from '../../core/fraud/fraud-config.js';
import type { LockLevel } from '../../core/fraud/lock-levels.js';
import type { SubscriberDirectory } from '../../ingest/subscriber-directory.js';
import { expiredLocks, lockOf, locksInForce, setLockIn, type LockView } from '../../store/desk/account-locks.js';
import { alertsWithoutReaction, claimReaction, type NewAlert } from '../../store/desk/alert-reactions.js';
import type { Sql } from '../../store/sql.js';

export interface ReactorOptions {
  sql: Sql;
  directory: SubscriberDirectory;
  fraud: FraudConfig;
  logger: Logger;
  now: () => number;
  /** A lock set or lifted here counts at the switch from the next setup. */
  lockSet: (account: string, level: LockLevel) => void;
  /** After each reaction has committed: the alert and the locks its policy set (for notifications). */
  reacted?: (alert: NewAlert, locks: LockView[]) => Promise<void>;
  /** Alerts created this long ago at most are reacted to (a day unless said). */
  lookbackMs?: number;
}

/** The actor of the audit events a policy writes. */
export const POLICY_ACTOR = 'policy';
const BATCH = 200;

export class AlertReactor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly o: ReactorOptions) {}

  start(everyMs: number): void {
    this.timer = setInterval(() => {
      this.running = this.running.then(async () => { await this.tick(); }).catch((e: unknown) => this.o.logger.error({ err: e }, 'alert policies: a pass failed; retrying at the next'));
    }, everyMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.running;
  }

  /** One pass: lift the locks whose time ran out, then react to the new alerts. Returns how many alerts it reacted to. */
  async tick(): Promise<number> {
    await this.liftExpired();
    let reacted = 0;
    for (;;) {
      const alerts = await alertsWithoutReaction(this.o.sql, this.o.now() - (this.o.lookbackMs ?? 86_400_000), BATCH);
      for (const a of alerts) if (await this.react(a)) reacted += 1;
      if (alerts.length < BATCH) return reacted;
    }
  }

  private async react(alert: NewAlert): Promise<boolean> {
    const policy: LockPolicy | undefined = this.o.fraud.policies[alert.rule];
    const now = this.o.now();
    const done = await this.o.sql.transaction(async (tx) => {
      const inForce = new Map((await locksInForce(tx, now)).map((l) => [l.account, l.level]));
      const scope = { alertId: alert.alert_id, rule: alert.rule, clientId: alert.client_id, siteId: alert.site_id, userId: alert.user_id };
      const planned = policy === undefined ? [] : locksFor(scope, policy, this.o.directory.all, (a) => inForce.get(a) ?? 'none', now);
      const outcome = policy === undefined || policy.lock === 'none' ? 'no lock by policy' : planned.length === 0 ? `${policy.lock} or stronger already in force` : `locked ${policy.lock}: ${planned.length} account(s)`;
      if (!(await claimReaction(tx, alert.alert_id, outcome, now))) return undefined;
      const locks: LockView[] = [];
      for (const p of planned) {
        const s = p.subscriber;
        const until = p.expiresAtMs === null ? 'until an analyst lifts it' : `until ${new Date(p.expiresAtMs).toISOString()}`;
        locks.push(await setLockIn(tx, {
          account: s.account, clientId: s.clientId, siteId: s.siteId, userId: s.userId, level: p.level, actor: POLICY_ACTOR, atMs: now,
          reason: `${alert.rule} (alert ${alert.alert_id}): ${p.level} ${until}`,
          policy: { rule: alert.rule, alertId: alert.alert_id, expiresAtMs: p.expiresAtMs },
        }));
      }
      return locks;
    });
    if (done === undefined) return false;
    for (const l of done) this.o.lockSet(l.account, l.level);
    if (done.length > 0) this.o.logger.info({ alert: alert.alert_id, rule: alert.rule, level: policy?.lock, accounts: done.length }, 'alert policy locked accounts');
    await this.o.reacted?.(alert, done);
    return true;
  }

  private async liftExpired(): Promise<void> {
    const now = this.o.now();
    for (const expired of await expiredLocks(this.o.sql, now)) {
      // Re-read in the transaction: a person may have set another lock since.
      const lifted = await this.o.sql.transaction(async (tx) => {
        const l = await lockOf(tx, expired.account);
        if (l === undefined || l.expires_at === null || Date.parse(l.expires_at) > now || l.level === 'none') return false;
        await setLockIn(tx, {
          account: l.account, clientId: l.client_id, siteId: l.site_id, userId: l.user_id, level: 'none', actor: POLICY_ACTOR, atMs: now,
          reason: `lock set by ${l.rule} (alert ${l.alert_id}) expired`,
        });
        return true;
      });
      if (lifted) this.o.lockSet(expired.account, 'none');
    }
  }
}
