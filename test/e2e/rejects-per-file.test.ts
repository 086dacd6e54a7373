/**
 * Every file's rejects are listed (issue 23, part 6): two identical files rated in one run are two files;
 * summary.json, rejected.csv and `cdr rejects` give each its own rejects under its own name, and agree.
 * The same file rated again adds none; a replay bills the call once and clears it under both names.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { invoiced } from '../support/run-folders.js';
import { tempDir } from '../support/tmp.js';

const run = promisify(execFile);
const CLI = 'dist/services/cli/main.js';
const dir = tempDir();
const HEADER = 'cdr_id,account,caller,callee,start_time,answer_time,end_time,billable_seconds,disposition,direction,leg,forward_reason,device';
const call = (id: string, account: string, minute: number) =>
  `${id},${account},,0612345678,2026-03-02T09:${String(minute).padStart(2, '0')}:00+01:00,2026-03-02T09:${String(minute).padStart(2, '0')}:05+01:00,2026-03-02T09:${String(minute + 1).padStart(2, '0')}:05+01:00,60,answered,out,originating,,`;

describe('identical files in one run', () => {
  it('list each file’s rejects under its own name, in summary.json, rejected.csv and cdr rejects alike', async () => {
    const work = dir();
    const subscribers = join(work, 'subscribers.csv');
    copyFileSync('config/subscribers.csv', subscribers);
    const data = join(work, 'state');
    const out = join(work, 'out');
    const cdr = (...args: string[]) => run('node', [CLI, ...args, '--data', data]);
    // Line 3: an account the directory does not know yet; line 4: a time that is no time.
    const site1 = join(work, 'site-1.csv');
    const site2 = join(work, 'site-2.csv');
    writeFileSync(site1, [HEADER, call('k-1', 'tcx01-u1001', 0), call('k-2', 'acc-late', 2), 'k-3,tcx01-u1001,,0612345678,yesterday,,2026-03-02T09:05:00+01:00,,answered,out,originating,,'].join('\n') + '\n');
    copyFileSync(site1, site2);

    const rated = await cdr('rate', '--subscribers', subscribers, '--out', out, site1, site2);
    expect(rated.stdout).toMatch(/rated 1 .*1 duplicate\(s\) skipped/);
    const summary = JSON.parse(readFileSync(join(out, 'run-000001', 'summary.json'), 'utf8')) as { rejected: { total: number; byReason: Record<string, number> } };
    expect(summary.rejected).toEqual({ total: 4, byReason: { unknown_subscriber: 2, bad_time: 2 } });

    const rows = Papa.parse<Record<string, string>>(readFileSync(join(out, 'run-000001', 'rejected.csv'), 'utf8'), { header: true, skipEmptyLines: true }).data;
    expect(rows.map((r) => `${r.source}:${r.line} ${r.reason}`).sort()).toEqual([
      `${site1}:3 unknown_subscriber`, `${site1}:4 bad_time`, `${site2}:3 unknown_subscriber`, `${site2}:4 bad_time`,
    ]);

    const listed = (await cdr('rejects', '--list')).stdout;
    expect(listed).toMatch(/^4 rejected record\(s\)/);
    expect(listed).toContain(`  ${site1} unknown_subscriber: 1\n`);
    expect(listed).toContain(`  ${site2} unknown_subscriber: 1\n`);
    expect(listed).toContain(`  ${site1} bad_time: 1\n`);
    expect(listed).toContain(`  ${site2} bad_time: 1\n`);
    expect(listed).toContain(`${site1}:3 unknown_subscriber: no subscriber for account "acc-late"`);
    expect(listed).toContain(`${site2}:3 unknown_subscriber: no subscriber for account "acc-late"`);

    // The same file again, under the same name: the same rejects, not a second set.
    await cdr('rate', '--subscribers', subscribers, '--out', out, site2);
    expect((await cdr('rejects')).stdout).toMatch(/^4 rejected record\(s\)/);

    // Declared now: replaying rates both files, bills acc-late's call once, and clears it under both names.
    writeFileSync(subscribers, readFileSync(subscribers, 'utf8') + 'acc-late,C-TCX-01,S-TOURS,U1009,technicophone_centrex,centrex_user,1,false,+33247501009,\n');
    const replay = (await cdr('replay', '--subscribers', subscribers, '--out', out)).stdout;
    expect(replay).toMatch(/replayed 2 file\(s\): rated 1, still rejected 2, duplicates 3/);
    const billed = invoiced(out).billed;
    expect(Object.fromEntries(billed)).toEqual({ 'k-1': 1, 'k-2': 1 });
    const after = (await cdr('rejects')).stdout;
    expect(after).toMatch(/^2 rejected record\(s\)/);
    expect(after).toContain(`  ${site1} bad_time: 1\n`);
    expect(after).toContain(`  ${site2} bad_time: 1\n`);
  }, 60_000);
});
