/**
 * Automatic grouping while `cdr serve` runs: every minute (by default) the worked alerts are grouped
 * into cases (services/store/desk/case-grouping.ts), so an incident's alerts are one case within a
 * minute of reaching the store, whichever runtime raised them (embedded runs or the streaming fraud
 * stage write alerts without knowing of cases). Runs that group nothing write nothing; what they do
 * group is audited with the actor AUTO_GROUPING_ACTOR. Two servers on one PostgreSQL may race for
 * the same alerts: one transaction fails on case_alert's key and the next round finds them grouped.
 */
import type { FastifyInstance } from 'fastify';
import { groupAlerts } from '../store/desk/case-grouping.js';
import type { DeskContext } from './server.js';
import { maskLogValue } from './log-masking.js';
import type { Severity } from '../core/alert.js';

export const AUTO_GROUPING_ACTOR = 'auto-grouping';

export function startAutoGrouping(app: FastifyInstance, ctx: DeskContext, everyMs: number): void {
  let running = false;
  const round = async () => {
    if (running) return;
    running = true;
    try {
      const r = await groupAlerts(ctx.sql, { gapMs: ctx.caseGapMs, actor: AUTO_GROUPING_ACTOR, comment: `alerts at most ${ctx.caseGapMs / 60_000} min apart grouped automatically`, atMs: ctx.now() });
      const attached = r.attached.reduce((n, a) => n + a.alert_ids.length, 0);
      if (r.created.length > 0 || attached > 0) app.log.info({ cases_created: r.created.length, alerts_attached: attached }, 'alerts grouped into cases');
      for (const c of r.created) {
        await ctx.notifier.notify({ kind: 'case', case: { case_id: c.case_id, client_id: c.client_id, title: c.title, state: c.state, severity: c.severity as Severity | '', owner: c.owner } });
      }
    } catch (err) {
      app.log.warn({ err: maskLogValue(err) }, 'automatic grouping of alerts failed; next round retries');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void round(), everyMs);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));
}
