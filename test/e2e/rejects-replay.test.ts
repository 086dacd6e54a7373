/**
 * Rejects survive file rotation and can be replayed (issue 12): keyed by the file's content, listed by
 * `cdr rejects`, and rated again by `cdr replay` once the directory knows the subscriber, billed once.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp.js';

const run = promisify(execFile);
const CLI = 'dist/services/cli/main.js';
const dir = tempDir();
const HEADER = 'cdr_id,account,caller,callee,start_time,answer_time,end_time,billable_seconds,disposition,direction,leg,forward_reason,device';
const line = (id: string, account: string, minute: number) =>
  `${id},${account},,0612345678,2026-03-02T09:${String(minute).padStart(2, '0')}:00+01:00,2026-03-02T09:${String(minute).padStart(2, '0')}:05+01:00,2026-03-02T09:${String(minute + 1).padStart(2, '0')}:05+01:00,60,answered,out,originating,,`;

function ratedIds(out: string): string[] {
  return readdirSync(out)
    .filter((n) => n.startsWith('run-'))
    .flatMap((n) => Papa.parse<Record<string, string>>(readFileSync(join(out, n, 'rated.csv'), 'utf8'), { header: true, skipEmptyLines: true }).data.map((r) => r.cdr_id!));
}

describe('rejects and replay on the embedded runtime', () => {
  it('keeps the rejects of a rotated file apart, and rates the unknown subscriber once it is declared', async () => {
    const work = dir();
    const subscribers = join(work, 'subscribers.csv');
    copyFileSync('config/subscribers.csv', subscribers);
    const data = join(work, 'state');
    const out = join(work, 'out');
    const master = join(work, 'Master.csv');
    const cdr = (...args: string[]) => run('node', [CLI, ...args, '--data', data]);

    writeFileSync(master, [HEADER, line('a-1', 'tcx01-u1001', 0), line('a-2', 'acc-new', 2)].join('\n') + '\n');
    await cdr('rate', '--subscribers', subscribers, '--out', out, master);
    // The switch rotates its export: the same name, other calls, a reject on the same line.
    const rotatedAway = join(work, 'Master-1.csv');
    copyFileSync(master, rotatedAway);
    writeFileSync(master, [HEADER, line('b-1', 'tcx01-u1001', 10), line('b-2', 'acc-other', 12)].join('\n') + '\n');
    await cdr('rate', '--subscribers', subscribers, '--out', out, master);

    const listed = (await cdr('rejects', '--list')).stdout;
    expect(listed).toMatch(/^2 rejected record\(s\)/);
    expect(listed).toMatch(/unknown_subscriber: 2 \(replayable: cdr replay\)/);
    expect(listed.match(/Master\.csv:3 unknown_subscriber: no subscriber for account "acc-(new|other)"/g)).toHaveLength(2);

    // Declared now: the replay rates what was rejected, once; the rotated-away file is reported, not lost.
    writeFileSync(subscribers, readFileSync(subscribers, 'utf8') + 'acc-other,C-TCX-01,S-TOURS,U1009,technicophone_centrex,centrex_user,1,false,+33247501009,\n');
    const replay = (await cdr('replay', '--subscribers', subscribers, '--out', out)).stdout;
    expect(replay).toMatch(/Master\.csv: its content changed since 1 of its versions were rated/);
    expect(replay).toMatch(/replayed 1 file\(s\): rated 1, still rejected 0, duplicates 1/);
    expect(ratedIds(out).sort()).toEqual(['a-1', 'b-1', 'b-2']);
    const after = (await cdr('rejects')).stdout;
    expect(after).toMatch(/^1 rejected record\(s\)/); // acc-new of the rotated-away file, still unknown

    // Replaying again changes nothing: each CDR is billed once.
    await cdr('replay', '--subscribers', subscribers, '--out', out);
    expect(ratedIds(out).sort()).toEqual(['a-1', 'b-1', 'b-2']);
  }, 60_000);
});
