/**
 * The rater's and fraud stage's side of internal calls: free whatever the plan, outside every counter
 * (a pooled bundle, 40 hours, concurrent calls), and unseen by the detectors, including the caller-ID
 * rules on an extension caller ID.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config/load-config.js';
import { Zone } from '../../services/core/calendar.js';
import { CdrPipeline } from '../../services/core/cdr-pipeline.js';
import { normalizeRecord } from '../../services/ingest/normalize.js';
import { readExport } from '../../services/ingest/readers/detect-format.js';

const dir = mkdtempSync(join(tmpdir(), 'internal-calls-'));
const subscribers = join(dir, 'subscribers.csv');
writeFileSync(
  subscribers,
  'account,client_id,site_id,user_id,plan_id,line_type,channels,automated,numbers,extensions\n' +
    'ora-101,C-ORA,S-1,U-101,orange_wte,centrex_user,1,false,+33153400101,101\n' +
    'ora-102,C-ORA,S-1,U-102,orange_wte,centrex_user,1,false,+33153400102,102\n',
);
const config = loadConfig('config', subscribers);

async function rateCsv(rows: string[]) {
  const file = join(dir, `calls-${rows.length}.csv`);
  writeFileSync(file, ['cdr_id,account,caller,callee,start_time,answer_time,end_time,direction', ...rows].join('\n') + '\n');
  const pipeline = new CdrPipeline({
    plans: config.plans,
    numbering: config.numbering,
    fraud: config.fraud,
    zone: new Zone('Europe/Paris'),
    usersOf: (c, s) => config.directory.usersOf(c, s),
    numbersOf: (c) => config.directory.numbersOfClient(c),
    isPlatform: (a) => config.directory.isPlatform(a),
  });
  const ctx = { numbering: config.numbering, sourceZone: new Zone('Europe/Paris'), directory: config.directory };
  for await (const item of readExport(file)) {
    if (item.kind !== 'record') throw new Error(item.reject.detail);
    const n = normalizeRecord(item.record, ctx);
    if (!n.ok) throw new Error(n.reject.detail);
    pipeline.process(n.cdr);
  }
  const { changes, alerts } = pipeline.drain();
  return { calls: changes.map((c) => [c.call.cdrId, c.call.callee, c.call.dest.cls, c.call.reason, c.call.amount.toFixed(4)]), alerts: alerts.map((a) => a.rule) };
}

const at = (day: number, h: number, m = 0): string => `2026-02-${String(day).padStart(2, '0')}T${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:00+01:00`;

describe('internal calls', () => {
  it('leave the pooled minutes untouched: 1,100 internal minutes, then an outside call still in the pool', async () => {
    // Two users share 2 × 500 pooled minutes; 101 talks 1,100 minutes to 102 (11 calls of 100 min, three at once).
    const rows = Array.from({ length: 11 }, (_, i) => `i${i},ora-101,101,102,${at(2 + Math.floor(i / 3), 9)},${at(2 + Math.floor(i / 3), 9)},${at(2 + Math.floor(i / 3), 10, 40)},internal`);
    rows.push(`o1,ora-101,101,0142685300,${at(20, 9)},${at(20, 9)},${at(20, 9, 10)},out`);
    const { calls, alerts } = await rateCsv(rows);
    expect(calls.filter((c) => c[0]!.startsWith('i')).every((c) => c[2] === 'internal' && c[3] === 'internal' && c[4] === '0.0000')).toBe(true);
    expect(calls.find((c) => c[0] === 'o1')).toEqual(['o1', '+33142685300', 'fr_fixed', 'bundle', '0.0000']);
    expect(alerts).toEqual([]);
  });

  it('are found from the directory: the extension or the number of a colleague; the extension caller ID raises no caller-ID alert', async () => {
    const { calls, alerts } = await rateCsv([
      `a,ora-101,101,102,${at(3, 9)},${at(3, 9)},${at(3, 9, 5)},`,
      `b,ora-101,101,0153400102,${at(3, 10)},${at(3, 10)},${at(3, 10, 5)},`,
      // 3949 is no extension of this client: a priced short number, presented from the extension.
      `c,ora-101,101,3949,${at(3, 11)},${at(3, 11)},${at(3, 11, 1)},`,
    ]);
    expect(calls.map((c) => c.slice(1, 4))).toEqual([
      ['ext:102', 'internal', 'internal'],
      ['ext:+33153400102', 'internal', 'internal'],
      ['3949', 'fr_short', 'out_of_plan_destination'],
    ]);
    expect(alerts).toEqual([]);
  });
});
