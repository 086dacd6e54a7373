/**
 * The fraud desk wants few, precise alerts: a generated month of ordinary business traffic raises no
 * fraud alert, and each planted scenario is caught by the rule it was built for and by no other.
 */
import { rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../services/core/alert.js';
import type { Cdr } from '../../services/core/cdr.js';
import { Zone } from '../../services/core/calendar.js';
import { loadConfig } from '../../services/config/load-config.js';
import { SCENARIOS, generateWorkload, type GenerateResult } from '../../services/generator/generate-workload.js';
import { normalizeRecord } from '../../services/ingest/normalize.js';
import { readExport } from '../../services/ingest/readers/detect-format.js';
import { pipelineFor } from '../support/pipeline.js';

let dir: string;
let workload: GenerateResult;
let alerts: Alert[];
let cdrs: Cdr[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cdr-fraud-'));
  // A month of 120 subscribers with every scenario planted on clients of their own.
  workload = await generateWorkload({ subscribers: 120, days: 30, seed: 11, startDate: '2026-03-01', inject: [...SCENARIOS], outDir: dir });
  const config = loadConfig('config', workload.subscribersFile);
  const ctx = { numbering: config.numbering, sourceZone: new Zone('Europe/Paris'), directory: config.directory };
  const pipeline = pipelineFor(config);
  cdrs = [];
  for (const file of workload.files) {
    for await (const item of readExport(file)) {
      if (item.kind !== 'record') throw new Error(`unexpected reject ${JSON.stringify(item.reject)}`);
      const n = normalizeRecord(item.record, ctx);
      if (!n.ok) throw new Error(`unexpected reject ${JSON.stringify(n.reject)}`);
      cdrs.push(n.cdr);
    }
  }
  cdrs.sort((a, b) => a.startMs - b.startMs);
  for (const c of cdrs) pipeline.process(c);
  alerts = pipeline.drain().alerts;
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fraud alerts on a generated month', () => {
  it('raises no fraud alert for ordinary business traffic', () => {
    const planted = new Set(workload.injected.map((s) => s.clientId));
    const ordinary = alerts.filter((a) => !planted.has(a.clientId));
    expect(ordinary.map((a) => `${a.rule} ${a.clientId}: ${a.message}`)).toEqual([]);
    expect(workload.cdrs).toBeGreaterThan(30_000);
  });

  it('gives the failed-attempts and wangiri rules near misses to refuse, and they refuse them', () => {
    // Ordinary users fail calls abroad (a few a day) and call back foreign contacts they missed: the
    // rules must tell that from probing and from one-ring lures.
    const planted = new Set(workload.injected.map((s) => s.clientId));
    const ordinary = cdrs.filter((c) => !planted.has(c.subscriber.clientId));
    const abroad = (n: string) => n.startsWith('+') && !n.startsWith('+33') && !/^\+(262|590|594|596)/.test(n);
    const failedAbroad = ordinary.filter((c) => c.direction === 'out' && c.disposition !== 'answered' && abroad(c.callee));
    const missedFromAbroad = ordinary.filter((c) => c.direction === 'in' && c.disposition !== 'answered' && abroad(c.caller));
    const calledBack = missedFromAbroad.filter((r) =>
      ordinary.some((c) => c.direction === 'out' && c.subscriber.clientId === r.subscriber.clientId && c.callee === r.caller && c.startMs > r.startMs && c.startMs - r.startMs < 86_400_000),
    );
    expect(failedAbroad.length).toBeGreaterThan(100);
    expect(calledBack.length).toBeGreaterThan(5);
    expect(alerts.filter((a) => !planted.has(a.clientId) && ['fraud.failed_attempts', 'fraud.wangiri'].includes(a.rule))).toEqual([]);
  });

  it.each(SCENARIOS.map((s) => [s]))('catches the %s scenario with its rule and no other', (scenario) => {
    const planted = workload.injected.find((s) => s.scenario === scenario)!;
    const raised = [...new Set(alerts.filter((a) => a.clientId === planted.clientId).map((a) => a.rule))];
    expect(raised).toEqual([planted.expectedRule]);
  });
});
