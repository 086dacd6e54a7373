/**
 * `cdr rate` end to end, as an operator runs it: the built command on export files, state in SQLite,
 * every output file read back and checked field by field.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Papa from 'papaparse';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp.js';

const run = promisify(execFile);
const CLI = 'dist/services/cli/main.js';
const HEADER = 'cdr_id,account,caller,callee,start_time,answer_time,end_time,billable_seconds,disposition,direction,leg,forward_reason,device';
const dir = tempDir();

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "make build" (make test does) before the end-to-end tests`);
});

/** Paris winter time (+01:00) of an instant. */
function paris(ms: number): string {
  return new Date(ms + 3_600_000).toISOString().slice(0, 19) + '+01:00';
}

/** A 60 s answered call from Technicophone Centrex user U1001 to Tours number i, calls 2.5 min apart from 08:00. */
function tcxCall(i: number, day: number, id = `tcx-${day}-${i}`): string {
  const start = Date.parse(`2026-03-0${day}T08:00:00+01:00`) + i * 150_000;
  const answer = start + 4000;
  return `${id},tcx01-u1001,0247501001,02470${String(10000 + i).padStart(5, '0')},${paris(start)},${paris(answer)},${paris(answer + 60_000)},60,answered,out,originating,,desk-1`;
}

function day1(): string {
  return [
    HEADER,
    ...Array.from({ length: 150 }, (_, i) => tcxCall(i, 2)),
    'ora-1,ora01-p1,0153401001,+4915112345678,2026-03-02T10:00:00+01:00,2026-03-02T10:00:05+01:00,2026-03-02T10:02:05+01:00,120,answered,out,originating,,',
    'bad-1,tcx01-u1002,0247501002,0612345678,2026-03-02T25:00:00+01:00,,2026-03-02T10:00:00+01:00,,answered,out,originating,,',
    'who-1,acc-unknown,0247509999,0612345678,2026-03-02T10:00:00+01:00,2026-03-02T10:00:05+01:00,2026-03-02T10:01:05+01:00,60,answered,out,originating,,',
  ].join('\n') + '\n';
}

function day2(): string {
  return [HEADER, tcxCall(150, 3), tcxCall(0, 3, 'tcx-3-repeat')].join('\n') + '\n';
}

async function rate(data: string, out: string, ...files: string[]) {
  const { stdout, stderr } = await run('node', [CLI, 'rate', '--config', 'config', '--data', data, '--out', out, ...files]);
  return { stdout, stderr };
}

function csv(path: string): Record<string, string>[] {
  return Papa.parse<Record<string, string>>(readFileSync(path, 'utf8'), { header: true, skipEmptyLines: true }).data;
}

function json(path: string) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The folder of the one run written under `out` (each run writes run-NNNNNN/ of its own). */
function runOut(out: string): string {
  const runs = readdirSync(out).filter((n) => n.startsWith('run-'));
  if (runs.length !== 1) throw new Error(`expected one run folder in ${out}, found ${runs.join(', ') || 'none'}`);
  return join(out, runs[0]!);
}

describe('cdr rate on the embedded runtime', () => {
  it('rates, rejects, adjusts and alerts across two daily runs, and a third run changes nothing', async () => {
    const work = dir();
    const f1 = join(work, 'day-1.csv');
    const f2 = join(work, 'day-2.csv');
    writeFileSync(f1, day1());
    writeFileSync(f2, day2());
    const data = join(work, 'state');

    const first = await rate(data, join(work, 'out1'), f1);
    expect(first.stdout).toMatch(/read 153 records from 1 file/);
    const rated1 = csv(join(runOut(join(work, 'out1')), 'rated.csv'));
    expect(rated1).toHaveLength(151);
    expect(rated1[0]).toEqual({
      cdr_id: 'ora-1', client_id: 'C-ORA-01', site_id: 'S-PARIS', user_id: 'U-P1', plan_id: 'orange_wte', period: '2026-03',
      start_time: '2026-03-02T10:00:00+01:00', callee: '+4915112345678', destination_class: 'international', country: 'DE',
      billable_seconds: '120', in_bundle: 'true', amount: '0.0000', currency: 'EUR', reason: 'bundle', priced_seconds: '0',
      explanation: expect.stringMatching(/^bundle: Orange Business l\.\d+/), caller: '+33153401001', caller_original: '',
    });
    const firstTcx = rated1.find((r) => r.cdr_id === 'tcx-2-0')!;
    expect(firstTcx).toMatchObject({ client_id: 'C-TCX-01', user_id: 'U1001', callee: '+33247010000', destination_class: 'fr_fixed', country: 'FR', in_bundle: 'true', amount: '0.0000', reason: 'bundle' });
    const rejected1 = csv(join(runOut(join(work, 'out1')), 'rejected.csv'));
    expect(rejected1.map((r) => [r.line, r.reason])).toEqual([['153', 'bad_time'], ['154', 'unknown_subscriber']]);
    expect(rejected1[0]!.raw).toMatch(/^bad-1,tcx01-u1002/);
    expect(rejected1[0]!.source).toBe(f1);
    expect(readFileSync(join(runOut(join(work, 'out1')), 'alerts.jsonl'), 'utf8')).toBe('');
    expect(readFileSync(join(runOut(join(work, 'out1')), 'adjustments.csv'), 'utf8')).toBe('cdr_id,period,previous_amount,new_amount,delta,reason,client_id,site_id,user_id,plan_id\n');
    const summary1 = json(join(runOut(join(work, 'out1')), 'summary.json'));
    expect(summary1).toMatchObject({ read: 153, rated: 151, duplicates: 0, rejected: { total: 2, byReason: { bad_time: 1, unknown_subscriber: 1 } }, byReason: { bundle: 151 } });

    // Day 2: the 151st distinct number re-prices U1001's whole month (Technicophone: « rétroactivement »).
    await rate(data, join(work, 'out2'), f2);
    const rated2 = csv(join(runOut(join(work, 'out2')), 'rated.csv'));
    expect(rated2.map((r) => [r.cdr_id, r.amount, r.reason])).toEqual([
      ['tcx-3-repeat', '0.0200', 'fair_use.distinct_numbers'], // 08:00, a number already called: priced too, the whole month is
      ['tcx-3-150', '0.0200', 'fair_use.distinct_numbers'], // 14:15, the 151st number
    ]);
    const adjustments = csv(join(runOut(join(work, 'out2')), 'adjustments.csv'));
    expect(adjustments).toHaveLength(150);
    expect(adjustments[0]).toEqual({
      cdr_id: 'tcx-2-0', period: '2026-03', previous_amount: '0.0000', new_amount: '0.0200', delta: '0.0200', reason: 'fair_use.distinct_numbers',
      client_id: 'C-TCX-01', site_id: 'S-TOURS', user_id: 'U1001', plan_id: 'technicophone_centrex',
    });
    const alerts = readFileSync(join(runOut(join(work, 'out2')), 'alerts.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      rule: 'fair_use.distinct_numbers', severity: 'warning', client_id: 'C-TCX-01', site_id: 'S-TOURS', user_id: 'U1001',
      first_seen: '2026-03-03T14:15:00+01:00', value: 151, threshold: 150,
    });
    expect(alerts[0].message).toMatch(/151 distinct numbers, limit 150 distinct numbers — clause « .*150 numéros différents/);
    const summary2 = json(join(runOut(join(work, 'out2')), 'summary.json'));
    expect(summary2.totals).toContainEqual({ client_id: 'C-TCX-01', period: '2026-03', amount: '3.0400', currency: 'EUR', billed_on: '2026-03' }); // 152 calls × 0.02

    // Day 1's folder rebuilt from the store after day 2 re-priced its calls: the same bytes as day 1 wrote,
    // each call as day 1 billed it (in bundle, 0.0000, reason bundle), the re-price being day 2's adjustment.
    await run('node', [CLI, 'export', '--run', '1', '--data', data, '--out', join(work, 'again')]);
    const dayOneAgain = readFileSync(join(work, 'again', 'run-000001', 'rated.csv'), 'utf8');
    expect(dayOneAgain).toBe(readFileSync(join(runOut(join(work, 'out1')), 'rated.csv'), 'utf8'));
    expect(csv(join(work, 'again', 'run-000001', 'rated.csv')).find((r) => r.cdr_id === 'tcx-2-0')).toMatchObject({ in_bundle: 'true', amount: '0.0000', reason: 'bundle' });
    const { stdout: explained } = await run('node', [CLI, 'explain', 'tcx-2-0', '--data', data]);
    expect(explained).toMatch(/fair_use\.distinct_numbers/); // the store's current price, explained in full

    // Day 2 again: duplicates only, no new price, no new alert, same totals.
    await rate(data, join(work, 'out3'), f2);
    const summary3 = json(join(runOut(join(work, 'out3')), 'summary.json'));
    expect(summary3).toMatchObject({ read: 2, rated: 0, duplicates: 2, adjustments: 0, alerts: { total: 0 } });
    expect(summary3.totals).toContainEqual({ client_id: 'C-TCX-01', period: '2026-03', amount: '3.0400', currency: 'EUR', billed_on: '2026-03' });
  });

  it('gives two daily runs the same month as one run on both files', async () => {
    const work = dir();
    const f1 = join(work, 'day-1.csv');
    const f2 = join(work, 'day-2.csv');
    writeFileSync(f1, day1());
    writeFileSync(f2, day2());
    await rate(join(work, 'split'), join(work, 'a'), f1);
    await rate(join(work, 'split'), join(work, 'b'), f2);
    await rate(join(work, 'together'), join(work, 'c'), f1, f2);
    const total = (out: string) => json(join(runOut(join(work, out)), 'summary.json')).totals.find((t: { client_id: string }) => t.client_id === 'C-TCX-01').amount;
    expect(total('b')).toBe(total('c'));
    // In one run the month is settled before anything is billed: no adjustment at all.
    expect(json(join(runOut(join(work, 'c')), 'summary.json')).adjustments).toBe(0);
  });

  it('commits nothing when it cannot write its outputs, so that a second run bills everything', async () => {
    const work = dir();
    const f1 = join(work, 'day-1.csv');
    writeFileSync(f1, day1());
    const blocked = join(work, 'not-a-dir');
    writeFileSync(blocked, 'a file where the output directory should be');
    const failed = await rate(join(work, 'state'), join(blocked, 'out'), f1).catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 1 });
    // Said before any rating, with the path and what to do.
    expect((failed as { stderr: string }).stderr).toMatch(/cdr: cannot write the output folder .*not-a-dir\/out \(ENOTDIR\): create it or make it writable, or choose another --out/);
    await rate(join(work, 'state'), join(work, 'out'), f1);
    expect(json(join(runOut(join(work, 'out')), 'summary.json'))).toMatchObject({ rated: 151, duplicates: 0 });
  });

  it('exits 2 with the file and field when the configuration is wrong, and rates nothing', async () => {
    const work = dir();
    const subscribers = join(work, 'subscribers.csv');
    writeFileSync(subscribers, 'account,client_id,site_id,user_id,plan_id,line_type,channels,automated,numbers\na1,C,S,U,no_such_plan,analog,1,false,\n');
    const f1 = join(work, 'day-1.csv');
    writeFileSync(f1, day1());
    const err = await run('node', [CLI, 'rate', '--subscribers', subscribers, '--data', join(work, 's'), '--out', join(work, 'o'), f1]).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toMatch(/subscribers\.csv: account a1, field plan_id: unknown plan "no_such_plan"/);
    expect(existsSync(join(work, 'o'))).toBe(false);
  });

  it('refuses a named pipe or a missing file among its inputs before starting a run, naming each, and leaves no store', async () => {
    const work = dir();
    const good = join(work, 'day1.csv');
    writeFileSync(good, day1());
    const pipe = join(work, 'export.fifo');
    await run('mkfifo', [pipe]);
    const err = await rate(join(work, 'd'), join(work, 'o'), good, pipe, join(work, 'missing.csv')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 1 });
    const stderr = (err as { stderr: string }).stderr;
    expect(stderr).toContain(`${pipe} is a named pipe, not a file: save the export to a file and rate that`);
    expect(stderr).toContain(`${join(work, 'missing.csv')}: no such file or directory`);
    expect(existsSync(join(work, 'd'))).toBe(false);
    expect(existsSync(join(work, 'o'))).toBe(false);
  });

  it("refuses to write into an --out that holds another data directory's runs: no run folder is ever replaced", async () => {
    const work = dir();
    const file = join(work, 'day1.csv');
    writeFileSync(file, day1());
    const shared = join(work, 'out');
    await rate(join(work, 'store-a'), shared, file);
    const before = readFileSync(join(shared, 'run-000001', 'rated.csv'), 'utf8');
    const err = await rate(join(work, 'store-b'), shared, file).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toContain(`${shared} holds run-000001/, written by the data directory ${join(work, 'store-a')}, not by ${join(work, 'store-b')}: give each data directory its own --out`);
    expect(readFileSync(join(shared, 'run-000001', 'rated.csv'), 'utf8')).toBe(before);
    // Its own store may write there again: a second run, and the first one exported anew, byte for byte.
    await rate(join(work, 'store-a'), shared, file);
    await run('node', [CLI, 'export', '--run', '1', '--data', join(work, 'store-a'), '--config', 'config']);
    expect(readFileSync(join(shared, 'run-000001', 'rated.csv'), 'utf8')).toBe(before);
    expect(readdirSync(shared).filter((n) => n.startsWith('run-')).sort()).toEqual(['run-000001', 'run-000002']);
  });

  it('says a data directory deleted and made again is another store, not the one its --out names', async () => {
    const work = dir();
    const file = join(work, 'day1.csv');
    writeFileSync(file, day1());
    const out = join(work, 'out');
    await rate(join(work, 'store'), out, file);
    rmSync(join(work, 'store'), { recursive: true });
    const err = await rate(join(work, 'store'), out, file).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 1 });
    const stderr = (err as { stderr: string }).stderr;
    expect(stderr).toContain(`${out} holds run-000001/, written by an earlier store at ${join(work, 'store')} that has since been deleted or replaced`);
    expect(stderr).toContain('Move those run folders away');
    expect(stderr).not.toContain('not by');
  });
});
