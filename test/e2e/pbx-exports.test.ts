/**
 * `cdr rate` on a month of a small business PBX (test/fixtures/switch-exports/pbx): internal calls,
 * ring groups, inbound trunk calls and outbound calls with an outside-line prefix. It bills only the
 * calls that left the PBX, to the number the trunk received, charged to the phone that made them, and
 * raises no alert. The dial plan (dial-plan.yaml) sits beside the subscribers file.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp.js';

const run = promisify(execFile);
const PBX = 'test/fixtures/switch-exports/pbx';
const dir = tempDir();

async function rate(...args: string[]): Promise<{ rated: Record<string, string>[]; rejected: Record<string, string>[]; alerts: string; summary: Record<string, unknown> }> {
  const work = dir();
  await run('node', ['dist/services/cli/main.js', 'rate', '--subscribers', `${PBX}/subscribers.csv`, '--data', join(work, 'state'), '--out', join(work, 'out'), ...args]);
  const out = join(work, 'out', 'run-000001');
  const csv = (f: string) => Papa.parse<Record<string, string>>(readFileSync(join(out, f), 'utf8'), { header: true, skipEmptyLines: true }).data;
  return { rated: csv('rated.csv'), rejected: csv('rejected.csv'), alerts: readFileSync(join(out, 'alerts.jsonl'), 'utf8'), summary: JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) };
}

describe('cdr rate on real PBX exports', () => {
  it('bills an Asterisk month: only calls that left the PBX cost, internal calls free and counted apart, no alert', async () => {
    const { rated, rejected, alerts, summary } = await rate('--trunk', '^(PJSIP/ovh|DAHDI/)', `${PBX}/asterisk-Master.csv`, `${PBX}/asterisk-18col-Master.csv`);
    expect(rejected).toEqual([]);
    expect(alerts).toBe('');
    const priced = rated.filter((r) => r.amount !== '0.0000').map((r) => [r.user_id, r.callee, r.destination_class, r.reason, r.amount].join(' '));
    expect(priced.sort()).toEqual([
      'U-BRUNO +33687654321 fr_mobile fair_use.forwarding 0.2400',
      'U-CHLOE +33556123456 fr_fixed fair_use.forwarding 0.0667',
      'U-CHLOE 3949 fr_short out_of_plan_destination 0.3500',
    ]);
    const internal = rated.filter((r) => r.destination_class === 'internal');
    expect(internal.map((r) => r.callee).sort()).toEqual(['ext:*97', 'ext:101', 'ext:102', 'ext:103', 'ext:103', 'ext:112', 'ext:600']);
    expect(internal.every((r) => r.reason === 'internal' && r.amount === '0.0000' && r.explanation!.includes('internal call'))).toBe(true);
    expect(summary.byReason).toEqual({ internal: 7, bundle: 7, emergency: 1, inbound: 4, 'fair_use.forwarding': 2, out_of_plan_destination: 1, not_answered: 1 });
    expect(summary.totals).toEqual([{ client_id: 'C-PME', period: '2026-02', amount: '0.6567', currency: 'EUR', billed_on: '2026-02' }]);
  });

  it('bills FreeSWITCH, Cisco UCM and 3CX exports of the same kind of PBX in one run', async () => {
    const { rated, rejected, alerts } = await rate(
      '--freeswitch-template',
      `${PBX}/freeswitch-cdr_csv.conf.xml`,
      '--profile',
      'config/profiles/3cx-call-log.yaml',
      `${PBX}/freeswitch-Master.csv`,
      `${PBX}/cdr_NantesCluster_01_202602041000_1-car-export.txt`,
      `${PBX}/cmr_NantesCluster_01_202602041000_1.txt`,
      `${PBX}/3cx-call-log.csv`,
    );
    expect(rejected.map((r) => [r.source!.split('/').pop(), r.line, r.reason])).toEqual([
      ['3cx-call-log.csv', '4', 'skipped_by_profile'],
      ['3cx-call-log.csv', '7', 'skipped_by_profile'],
      ['cmr_NantesCluster_01_202602041000_1.txt', '0', 'unknown_format'],
    ]);
    expect(alerts).toBe('');
    expect(rated.filter((r) => r.amount !== '0.0000').map((r) => `${r.client_id} ${r.callee} ${r.reason} ${r.amount}`).sort()).toEqual([
      // 40 s to a premium number: 0.12 connection + 40 s at 0.80/min.
      'C-3CX +33899123456 out_of_plan_destination 0.6533',
      'C-CISCO +33556123456 fair_use.forwarding 0.0667',
      'C-CISCO +33687654321 fair_use.forwarding 0.2400',
    ]);
    const byClient = (c: string) => rated.filter((r) => r.client_id === c && r.destination_class === 'internal').length;
    expect([byClient('C-FSW'), byClient('C-CISCO'), byClient('C-3CX')]).toEqual([3, 2, 1]);
  });

  it('bills a FreePBX CDR Reports export through cdr rate; the SQL dump of the same table, rated after it, is all duplicates', async () => {
    const work = dir();
    const cdr = (...args: string[]) => run('node', ['dist/services/cli/main.js', 'rate', '--subscribers', `${PBX}/subscribers.csv`, '--data', join(work, 'state'), '--out', join(work, 'out'), '--trunk', '^PJSIP/(ovh|orange)', ...args]);
    const first = await cdr(`${PBX}/freepbx-cdr-report.csv`);
    // What reading mended is said, by kind, without a number of the calls.
    expect(first.stdout).toContain('rated although mended (quotes inside a field that the switch did not escape were read as text 9)');
    const out = (n: number, f: string) => readFileSync(join(work, 'out', `run-00000${n}`, f), 'utf8');
    const rated = Papa.parse<Record<string, string>>(out(1, 'rated.csv'), { header: true, skipEmptyLines: true }).data;
    expect(out(1, 'rejected.csv').trim().split('\n')).toHaveLength(1);
    // Every answered call that left through a trunk is billed, for its billsec (the file was refused call by call before).
    expect(rated.filter((r) => r.destination_class !== 'internal' && r.reason !== 'inbound' && r.billable_seconds !== '0').map((r) => [r.user_id, r.callee, r.billable_seconds, r.reason].join(' '))).toEqual([
      'U-ALICE +33612345678 180 bundle',
      'U-CHLOE +33142685300 118 bundle',
      'U-CHLOE +33467123456 3590 bundle',
    ]);
    const second = await cdr(`${PBX}/asteriskcdrdb-dump.sql`);
    expect(second.stdout).toMatch(/rated 0, 9 duplicate\(s\) skipped/);
    expect(second.stdout).toMatch(/nothing new to bill/);
  });

  it('refuses a bad --trunk or --country with advice, before reading anything', async () => {
    await expect(rate('--trunk', '(', `${PBX}/asterisk-Master.csv`)).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--trunk.*not a regular expression/) });
    await expect(rate('--country', 'XX', `${PBX}/asterisk-Master.csv`)).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/--country.*ISO 3166/) });
  });
});
