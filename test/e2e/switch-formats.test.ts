/**
 * The same calls written by four switches (and our canonical CSV) must be billed the same: same
 * subscriber, same destination, same seconds, same amount, same reason.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp.js';

const run = promisify(execFile);
const DIR = 'test/fixtures/switch-exports';
const dir = tempDir();

const FORMATS: [string, string[]][] = [
  ['canonical', [`${DIR}/canonical.csv`]],
  ['asterisk', [`${DIR}/asterisk-Master.csv`]],
  ['freeswitch', [`${DIR}/freeswitch-Master.csv`, '--freeswitch-template', `${DIR}/freeswitch-cdr_csv.conf.xml`]],
  ['cucm', [`${DIR}/cdr_StandAloneCluster_01_202601152305_1.txt`]],
  ['profile', [`${DIR}/example-pbx.csv`, '--profile', 'config/profiles/example-pbx.yaml']],
];

async function ratedRows(format: string, args: string[], subscribers: string): Promise<string[]> {
  const work = dir();
  const out = join(work, 'out');
  await run('node', ['dist/services/cli/main.js', 'rate', '--subscribers', subscribers, '--data', join(work, 'state'), '--out', out, ...args]);
  const rows = Papa.parse<Record<string, string>>(readFileSync(join(out, 'run-000001', 'rated.csv'), 'utf8'), { header: true, skipEmptyLines: true }).data;
  expect(rows.length, `${format}: rated rows`).toBeGreaterThan(0);
  return rows
    .map((r) => [r.user_id, r.start_time, r.callee, r.destination_class, r.billable_seconds, r.amount, r.reason].join(' '))
    .sort();
}

describe('switch exports of the same calls', () => {
  it('rate to the same rows in every format', async () => {
    const subscribers = join(dir(), 'subscribers.csv');
    writeFileSync(
      subscribers,
      [
        'account,client_id,site_id,user_id,plan_id,line_type,channels,automated,numbers',
        'alice,C-ACME,S-PARIS,u-alice,technicophone_centrex,centrex_user,1,false,+33145000001',
        'bob,C-ACME,S-PARIS,u-bob,technicophone_centrex,centrex_user,1,false,+33145000002',
        'carol,C-ACME,S-PARIS,u-carol,technicophone_centrex,centrex_user,1,false,+33145000003',
      ].join('\n') + '\n',
    );
    const [reference, ...others] = await Promise.all(FORMATS.map(([format, args]) => ratedRows(format, args, subscribers)));
    // The forwarded and transferred legs are priced (Technicophone Centrex excludes them), the rest is in bundle.
    expect(reference!.some((r) => r.endsWith('fair_use.forwarding'))).toBe(true);
    expect(reference!.some((r) => r.endsWith('bundle'))).toBe(true);
    others.forEach((rows, i) => expect(rows, FORMATS[i + 1]![0]).toEqual(reference));
  });

  it('refuses a file in no known format, saying what was expected, and goes on with the others', async () => {
    const work = dir();
    const odd = join(work, 'odd.txt');
    writeFileSync(odd, 'hello;world\n1;2\n');
    const subscribers = join(work, 'subs.csv');
    writeFileSync(subscribers, 'account,client_id,site_id,user_id,plan_id,line_type,channels,automated,numbers\nalice,C,S,U,technicophone_centrex,centrex_user,1,false,+33145000001\n');
    await run('node', ['dist/services/cli/main.js', 'rate', '--subscribers', subscribers, '--data', join(work, 'state'), '--out', join(work, 'out'), odd, `${DIR}/canonical.csv`]);
    const rejects = Papa.parse<Record<string, string>>(readFileSync(join(work, 'out', 'run-000001', 'rejected.csv'), 'utf8'), { header: true, skipEmptyLines: true }).data;
    const unknown = rejects.find((r) => r.source === odd)!;
    expect(unknown).toMatchObject({ line: '0', reason: 'unknown_format', raw: 'hello;world' });
    expect(unknown.detail).toMatch(/canonical.*Asterisk.*FreeSWITCH.*CUCM/s);
    const summary = JSON.parse(readFileSync(join(work, 'out', 'run-000001', 'summary.json'), 'utf8'));
    expect(summary.rated).toBeGreaterThan(0);
  });
});
