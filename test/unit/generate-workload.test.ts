import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Zone } from '../../services/core/calendar.js';
import { NumberingPlan, numberingSchema } from '../../services/core/numbering.js';
import { loadYamlFile } from '../../services/config/yaml-file.js';
import { generateWorkload, SCENARIOS, SCENARIO_RULES, type GenerateOptions, type GenerateResult } from '../../services/generator/generate-workload.js';
import { readCanonicalCsv } from '../../services/ingest/canonical-csv.js';
import { normalizeRecord } from '../../services/ingest/normalize.js';
import { SubscriberDirectory } from '../../services/ingest/subscriber-directory.js';

const CDR_HEADER = 'cdr_id,account,caller,callee,start_time,answer_time,end_time,billable_seconds,disposition,direction,leg,forward_reason,device';
const SUBSCRIBERS_HEADER = 'account,client_id,site_id,user_id,plan_id,line_type,channels,automated,numbers';

interface Row {
  cdrId: string;
  account: string;
  caller: string;
  callee: string;
  startMs: number;
  answerMs: number | null;
  endMs: number;
  billable: number;
  disposition: string;
  direction: string;
  leg: string;
  forwardReason: string;
  /** The line without its cdr_id, which follows file order. */
  content: string;
}

interface SubscriberRow {
  account: string;
  clientId: string;
  siteId: string;
  userId: string;
  planId: string;
  number: string;
}

let root: string;
const outDir = (name: string): string => join(root, name);
const base: Omit<GenerateOptions, 'outDir'> = { subscribers: 60, days: 7, seed: 11 };

function cdrLines(result: GenerateResult): string[][] {
  return result.files.map((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l !== ''));
}

function rows(result: GenerateResult): Row[] {
  return cdrLines(result).flatMap((lines) =>
    lines.slice(1).map((line) => {
      const f = line.split(',');
      return {
        cdrId: f[0]!,
        account: f[1]!,
        caller: f[2]!,
        callee: f[3]!,
        startMs: Date.parse(f[4]!),
        answerMs: f[5] === '' ? null : Date.parse(f[5]!),
        endMs: Date.parse(f[6]!),
        billable: Number(f[7]),
        disposition: f[8]!,
        direction: f[9]!,
        leg: f[10]!,
        forwardReason: f[11]!,
        content: f.slice(1).join(','),
      };
    }),
  );
}

function subscribers(result: GenerateResult): Map<string, SubscriberRow> {
  const lines = readFileSync(result.subscribersFile, 'utf8').split('\n').filter((l) => l !== '');
  return new Map(
    lines.slice(1).map((l) => {
      const [account, clientId, siteId, userId, planId, , , , number] = l.split(',') as string[];
      return [account!, { account: account!, clientId: clientId!, siteId: siteId!, userId: userId!, planId: planId!, number: number! }];
    }),
  );
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return m;
}

/** Most calls of one line in progress at once, each from setup to end. */
function maxConcurrent(calls: Row[], from: (r: Row) => number = (r) => r.startMs): number {
  const events = calls.flatMap((c) => [
    [from(c), 1],
    [c.endMs, -1],
  ]) as [number, number][];
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, delta] of events) max = Math.max(max, (now += delta));
  return max;
}

function maxSetupsPerSecond(calls: Row[]): number {
  const perSecond = new Map<number, number>();
  for (const c of calls) perSecond.set(Math.floor(c.startMs / 1000), (perSecond.get(Math.floor(c.startMs / 1000)) ?? 0) + 1);
  return Math.max(0, ...perSecond.values());
}

const answeredSeconds = (calls: Row[]): number => calls.filter((c) => c.disposition === 'answered').reduce((s, c) => s + c.billable, 0);

let ordinary: GenerateResult;
let injected: GenerateResult;
const progress: number[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'cdr-generate-'));
  ordinary = await generateWorkload({ ...base, outDir: outDir('ordinary'), onProgress: (n) => progress.push(n) });
  injected = await generateWorkload({ ...base, inject: [...SCENARIOS], outDir: outDir('injected') });
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('cdr generate: files', () => {
  it('writes the subscriber directory, one canonical CSV per day and the manifest', () => {
    expect(readdirSync(outDir('ordinary')).sort()).toEqual([
      'cdrs-2026-03-02.csv',
      'cdrs-2026-03-03.csv',
      'cdrs-2026-03-04.csv',
      'cdrs-2026-03-05.csv',
      'cdrs-2026-03-06.csv',
      'cdrs-2026-03-07.csv',
      'cdrs-2026-03-08.csv',
      'manifest.json',
      'subscribers.csv',
    ]);
    expect(ordinary.cdrs).toBe(rows(ordinary).length);
    expect(ordinary.cdrs).toBeGreaterThan(3000);
    expect(progress.at(-1)).toBe(ordinary.cdrs);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
  });

  it('writes Paris time with the offset of the day, across the spring DST change and public holidays', async () => {
    // Friday 27 March to Easter Monday 6 April 2026; clocks go forward on Sunday 29 March.
    const r = await generateWorkload({ subscribers: 40, days: 11, seed: 3, startDate: '2026-03-27', outDir: outDir('dst') });
    for (const lines of cdrLines(r)) {
      for (const line of lines.slice(1)) {
        for (const t of line.split(',').slice(4, 7).filter((x) => x !== '')) {
          const offset = DateTime.fromISO(t, { setZone: true }).offset;
          expect(DateTime.fromISO(t).setZone('Europe/Paris').offset, t).toBe(offset);
        }
      }
    }
    expect(readFileSync(r.files[0]!, 'utf8')).toMatch(/T1\d:\d\d:\d\d\+01:00/);
    expect(readFileSync(r.files[5]!, 'utf8')).toMatch(/T1\d:\d\d:\d\d\+02:00/);
    const perDay = cdrLines(r).map((lines) => lines.length - 1);
    expect(perDay[10]!, 'Easter Monday').toBeLessThan(perDay[7]! / 5);
  });

  it('is deterministic for a seed and changes with it', async () => {
    const again = await generateWorkload({ ...base, outDir: outDir('again') });
    const other = await generateWorkload({ ...base, seed: 12, outDir: outDir('other') });
    const bytes = (dir: string): Record<string, string> => Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
    const first = bytes(outDir('ordinary'));
    expect(bytes(outDir('again'))).toEqual(first);
    const changed = bytes(outDir('other'));
    expect(changed['cdrs-2026-03-02.csv']).not.toEqual(first['cdrs-2026-03-02.csv']);
    expect(changed['subscribers.csv']).not.toEqual(first['subscribers.csv']);
    expect(again.cdrs).toBe(ordinary.cdrs);
    expect(other.cdrs).toBeGreaterThan(0);
  });

  it('writes the canonical header and 13 columns on every line', () => {
    for (const lines of cdrLines(injected)) {
      expect(lines[0]).toBe(CDR_HEADER);
      for (const line of lines) expect(line.split(',').length, line).toBe(13);
    }
    expect(readFileSync(injected.subscribersFile, 'utf8').split('\n')[0]).toBe(SUBSCRIBERS_HEADER);
  });

  it('bills only accounts of the subscriber directory, with unique numbers', () => {
    const subs = subscribers(injected);
    for (const r of rows(injected)) expect(subs.has(r.account), r.cdrId).toBe(true);
    const numbers = [...subs.values()].map((s) => s.number);
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  it('is read by the project readers without a reject, every number placed', async () => {
    const numbering = new NumberingPlan(loadYamlFile('config/numbering.yaml', numberingSchema));
    const directory = SubscriberDirectory.load(injected.subscribersFile, numbering);
    const ctx = { numbering, sourceZone: new Zone('Europe/Paris'), directory };
    let read = 0;
    for (const file of injected.files) {
      for await (const item of readCanonicalCsv(file)) {
        expect(item.kind, JSON.stringify(item)).toBe('record');
        if (item.kind !== 'record') continue;
        const n = normalizeRecord(item.record, ctx);
        expect(n.ok, JSON.stringify(n)).toBe(true);
        if (!n.ok) continue;
        read++;
        expect(numbering.classify(n.cdr.callee).cls, n.cdr.callee).not.toBe('unknown');
        if (n.cdr.caller !== '') expect(numbering.classify(n.cdr.caller).cls, n.cdr.caller).not.toBe('unknown');
      }
    }
    expect(read).toBe(injected.cdrs);
  });
});

describe('cdr generate: ordinary traffic stays clear of every threshold', () => {
  it('never has a user on more than 2 calls at once nor above 150 distinct numbers a month', () => {
    const all = rows(ordinary);
    for (const [account, calls] of groupBy(all, (r) => r.account)) {
      expect(maxConcurrent(calls), account).toBeLessThanOrEqual(2);
      const distinct = new Set(calls.filter((c) => c.direction === 'out').map((c) => c.callee));
      expect(distinct.size, account).toBeLessThanOrEqual(150);
    }
  });

  it('keeps setups, durations and caller IDs ordinary', () => {
    const subs = subscribers(ordinary);
    const all = rows(ordinary);
    for (const [client, calls] of groupBy(all, (r) => subs.get(r.account)!.clientId)) {
      expect(maxSetupsPerSecond(calls), client).toBeLessThanOrEqual(5);
    }
    for (const [account, calls] of groupBy(all, (r) => r.account)) expect(answeredSeconds(calls), account).toBeLessThanOrEqual(25 * 3600);
    for (const r of all) {
      if (r.disposition === 'answered') expect(r.billable, r.cdrId).toBeGreaterThanOrEqual(2);
      else expect([r.answerMs, r.billable], r.cdrId).toEqual([null, 0]);
      if (r.direction === 'out') expect(r.caller, r.cdrId).toBe(subs.get(r.account)!.number);
      expect(r.caller.startsWith('+3389'), r.cdrId).toBe(false);
      expect(r.callee.startsWith('+3389'), r.cdrId).toBe(false);
    }
  });

  it('looks like office telephony: answer rate, direction, destinations, legs', () => {
    const all = rows(ordinary);
    const share = (p: (r: Row) => boolean, of: Row[] = all): number => of.filter(p).length / of.length;
    expect(share((r) => r.disposition !== 'answered')).toBeGreaterThan(0.15);
    expect(share((r) => r.disposition !== 'answered')).toBeLessThan(0.25);
    expect(share((r) => r.direction === 'in')).toBeGreaterThan(0.1);
    expect(share((r) => r.direction === 'in')).toBeLessThan(0.2);
    const out = all.filter((r) => r.direction === 'out' && r.leg === 'originating');
    expect(share((r) => /^\+33[1-59]/.test(r.callee), out)).toBeGreaterThan(0.45);
    expect(share((r) => /^\+33[67]/.test(r.callee), out)).toBeGreaterThan(0.2);
    expect(share((r) => !r.callee.startsWith('+33'), out)).toBeGreaterThan(0.02);
    expect(all.some((r) => r.leg === 'forwarded' && r.forwardReason !== '')).toBe(true);
    expect(all.some((r) => r.leg === 'transferred')).toBe(true);
    // Weekdays carry the traffic: Saturday 7 March and Sunday 8 March are the last two files.
    const perDay = cdrLines(ordinary).map((lines) => lines.length - 1);
    expect(perDay[5]!).toBeLessThan(perDay[0]! / 5);
    expect(perDay[6]!).toBeLessThan(perDay[0]! / 5);
  });
});

describe('cdr generate --inject', () => {
  it('records every scenario in the manifest, with cdr ids found in the files on its own client', () => {
    const manifest = JSON.parse(readFileSync(injected.manifestFile, 'utf8')) as { injected: GenerateResult['injected'] };
    expect(manifest.injected).toEqual(injected.injected);
    expect(manifest.injected.map((s) => s.scenario)).toEqual([...SCENARIOS]);
    const subs = subscribers(injected);
    const byId = new Map(rows(injected).map((r) => [r.cdrId, r]));
    const clients = new Set<string>();
    for (const s of manifest.injected) {
      expect(s.expectedRule).toBe(SCENARIO_RULES[s.scenario]);
      expect(s.cdrIds.length, s.scenario).toBeGreaterThan(0);
      expect(s.cdrIds.length, s.scenario).toBeLessThanOrEqual(20);
      for (const id of s.cdrIds) expect(subs.get(byId.get(id)?.account ?? '')?.clientId, `${s.scenario} ${id}`).toBe(s.clientId);
      expect(subs.get(s.account)).toMatchObject({ clientId: s.clientId, siteId: s.siteId, userId: s.userId });
      clients.add(s.clientId);
    }
    expect(clients.size).toBe(SCENARIOS.length);
    expect(new Set(manifest.injected.map((s) => s.clientId)).size).toBe(SCENARIOS.length);
    for (const s of manifest.injected) expect(ordinary.injected).not.toContainEqual(s);
  });

  it('builds each scenario past its own threshold', () => {
    const subs = subscribers(injected);
    const all = rows(injected);
    const byScenario = new Map(
      injected.injected.map((s) => [s.scenario, all.filter((r) => subs.get(r.account)!.clientId === s.clientId)] as const),
    );
    const calls = (s: (typeof SCENARIOS)[number]): Row[] => byScenario.get(s)!;
    const answered = (s: (typeof SCENARIOS)[number]): Row[] => calls(s).filter((r) => r.disposition === 'answered');

    expect(new Set(answered('distinct_numbers').map((r) => r.callee)).size).toBe(200);
    expect(answeredSeconds(calls('distinct_numbers'))).toBeLessThan(40 * 3600);
    expect(maxConcurrent(calls('distinct_numbers'))).toBe(1);

    expect(answeredSeconds(calls('duration_40h'))).toBe(41 * 3600);
    expect(maxConcurrent(calls('duration_40h'))).toBe(1);
    expect(new Set(calls('duration_40h').map((r) => r.callee)).size).toBeLessThanOrEqual(150);

    expect(maxConcurrent(answered('concurrent_calls'), (r) => r.answerMs!)).toBe(5);

    const forwarded = answered('forwarding_2h').filter((r) => r.leg === 'forwarded' && r.forwardReason === 'unconditional');
    expect(answeredSeconds(forwarded)).toBe(3 * 3600);

    const pool = calls('pool_exhausted');
    expect(new Set(pool.map((r) => r.account)).size).toBe(2);
    expect(answeredSeconds(pool)).toBe(1100 * 60);
    expect(pool.every((r) => /^\+33[1-59]/.test(r.callee))).toBe(true);
    for (const user of groupBy(pool, (r) => r.account).values()) expect(maxConcurrent(user)).toBe(1);

    expect(calls('setup_burst')).toHaveLength(50);
    expect(maxSetupsPerSecond(calls('setup_burst'))).toBeGreaterThan(10);
    expect(answered('setup_burst').length).toBeLessThanOrEqual(2);

    const dialler = calls('dialler_burst');
    expect(maxSetupsPerSecond(dialler)).toBeGreaterThan(10);
    expect(dialler.length).toBeGreaterThan(10_000);
    expect((Math.max(...dialler.map((r) => r.startMs)) - Math.min(...dialler.map((r) => r.startMs))) / 60_000).toBeLessThan(10);
    expect(maxConcurrent(answered('dialler_burst'), (r) => r.answerMs!)).toBe(1);

    expect(calls('premium_cli').filter((r) => r.caller === '+33899123456').length).toBeGreaterThan(0);

    const hyperShort = answered('hyper_short').filter((r) => r.billable < 2);
    expect(hyperShort).toHaveLength(200);
    expect(Math.max(...hyperShort.map((r) => r.startMs)) - Math.min(...hyperShort.map((r) => r.startMs))).toBeLessThan(3_600_000);
    expect(maxSetupsPerSecond(calls('hyper_short'))).toBeLessThanOrEqual(5);

    const premium = calls('premium_destination').filter((r) => r.callee.startsWith('+3389'));
    expect(premium).toHaveLength(40);
    expect(Math.max(...premium.map((r) => r.startMs)) - Math.min(...premium.map((r) => r.startMs))).toBeLessThan(3_600_000);

    const far = answered('spend_velocity').filter((r) => r.callee.startsWith('+7495') || r.callee.startsWith('+7812'));
    expect(answeredSeconds(far)).toBeGreaterThanOrEqual(4 * 3600);

    const probing = calls('toll_fraud_probing');
    expect(probing).toHaveLength(162);
    expect(new Set(probing.map((r) => r.account)).size).toBe(3);
    expect(probing.every((r) => r.disposition !== 'answered' && /^\+(972|48)/.test(r.callee))).toBe(true);
    expect(Math.max(...probing.map((r) => r.startMs)) - Math.min(...probing.map((r) => r.startMs))).toBeLessThan(10 * 60_000);
    expect(maxSetupsPerSecond(probing)).toBe(1);

    // Nobody but the scenarios crosses a line: every scenario-free client keeps to the ordinary limits.
    const scenarioClients = new Set(injected.injected.map((s) => s.clientId));
    const others = all.filter((r) => !scenarioClients.has(subs.get(r.account)!.clientId));
    for (const [account, c] of groupBy(others, (r) => r.account)) expect(maxConcurrent(c), account).toBeLessThanOrEqual(2);
    for (const s of injected.injected.filter((x) => !['concurrent_calls', 'setup_burst', 'dialler_burst'].includes(x.scenario))) {
      for (const user of groupBy(answered(s.scenario), (r) => r.account).values()) {
        expect(maxConcurrent(user, (r) => r.answerMs!), s.scenario).toBeLessThanOrEqual(1);
      }
    }
  });

  it('leaves the ordinary traffic as it was', () => {
    const scenarioAccounts = new Set(
      [...subscribers(injected).values()].filter((s) => injected.injected.some((i) => i.clientId === s.clientId)).map((s) => s.account),
    );
    const withScenarios = rows(injected)
      .filter((r) => !scenarioAccounts.has(r.account))
      .map((r) => r.content);
    expect(withScenarios).toEqual(rows(ordinary).map((r) => r.content));
  });

  it('refuses unknown scenarios and windows too short for one', async () => {
    await expect(generateWorkload({ ...base, inject: ['nope' as never], outDir: outDir('bad') })).rejects.toThrow(/unknown scenario "nope"/);
    await expect(generateWorkload({ ...base, days: 1, inject: ['duration_40h'], outDir: outDir('short') })).rejects.toThrow(/duration_40h/);
  });
});
