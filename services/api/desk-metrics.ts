/**
 * /metrics of `cdr serve`: requests by route and status, request time, and the desk's state read from
 * the store at scrape time (alerts by rule and status, open alerts, locks in force).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { alertCounts } from '../store/desk/alert-cases.js';
import { locksInForce } from '../store/desk/account-locks.js';
import type { Sql } from '../store/sql.js';

export class DeskMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'route' | 'status'>;
  readonly duration: Histogram<'method' | 'route'>;
  /** Answers to the switch at call setup (/api/v1/authorize). */
  readonly setupDecisions: Counter<'decision' | 'reason'>;

  constructor(sql: Sql, callsInProgress: () => number) {
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({ name: 'cdr_http_requests_total', help: 'HTTP requests answered, by route and status', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
    this.duration = new Histogram({
      name: 'cdr_http_request_seconds', help: 'Time to answer an HTTP request', labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry],
    });
    this.setupDecisions = new Counter({ name: 'cdr_call_setup_decisions_total', help: 'Answers to the switch at call setup, by decision and reason', labelNames: ['decision', 'reason'], registers: [this.registry] });
    new Gauge({ name: 'cdr_calls_in_progress', help: 'Calls let through at setup without an end notice yet', registers: [this.registry], collect() { this.set(callsInProgress()); } });
    const byRule = new Gauge({ name: 'cdr_alerts', help: 'Alerts in the store, by rule and status', labelNames: ['rule', 'status'], registers: [this.registry] });
    const open = new Gauge({ name: 'cdr_alerts_open', help: 'Alerts not yet acknowledged or resolved', registers: [this.registry] });
    const locks = new Gauge({ name: 'cdr_locks_in_force', help: 'Accounts under a lock level other than none, by level', labelNames: ['level'], registers: [this.registry] });
    // Read at scrape time: another process (cdr rate, the workers) writes the alerts.
    this.collect = async () => {
      byRule.reset();
      let openCount = 0;
      for (const c of await alertCounts(sql)) {
        byRule.set({ rule: c.rule, status: c.status }, c.n);
        if (c.status === 'open') openCount += c.n;
      }
      open.set(openCount);
      locks.reset();
      const levels = new Map<string, number>();
      for (const l of await locksInForce(sql, Date.now())) levels.set(l.level, (levels.get(l.level) ?? 0) + 1);
      for (const level of ['foreign', 'outgoing', 'all']) locks.set({ level }, levels.get(level) ?? 0);
    };
  }

  private readonly collect: () => Promise<void>;

  async text(): Promise<string> {
    await this.collect();
    return this.registry.metrics();
  }
}
