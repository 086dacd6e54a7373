/**
 * `cdr inspect` end to end, as an operator runs it before a first bill: the built command on PBX exports,
 * from an empty folder that must stay empty (no `.cdr-data`, no `out/`), the text report and the `--json` one.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp.js';

const run = promisify(execFile);
const CLI = resolve('dist/services/cli/main.js');
const PBX = resolve('test/fixtures/switch-exports/pbx');
const CONFIG = resolve('config');
const dir = tempDir();

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "make build" (make test does) before the end-to-end tests`);
});

async function inspect(cwd: string, ...args: string[]) {
  return run('node', [CLI, 'inspect', '--config', CONFIG, '--subscribers', `${PBX}/subscribers.csv`, ...args], { cwd, env: { ...process.env, LOG_LEVEL: 'info' } });
}

describe('cdr inspect', () => {
  it('prints what rating would make of a new PBX export, the lines and options to add, and writes nothing', async () => {
    const cwd = dir();
    const { stdout, stderr } = await inspect(cwd, `${PBX}/onboarding/Master.csv`);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`${PBX}/onboarding/Master.csv: asterisk; 12 records read`);
    expect(lines[1]).toBe('  internal 0, inbound 0, outbound 1, unanswered 1, refused 10');
    expect(lines).toContain('  refused unknown_subscriber: 9');
    expect(lines).toContain(`    ${PBX}/onboarding/Master.csv:12  "","101","0899123456","from-internal","""Alice"" <101>","PJSIP/101-00000117","PJSIP/keyyo-00000118","Dial","PJSIP/0899123456@keyyo,60,T","2026-03-02 17:00:00",…`);
    expect(lines).toContain('      end_time 2026-03-02 16:59:05 is before start_time 2026-03-02 17:00:00');
    const header = lines.indexOf('  account,client_id,site_id,user_id,plan_id,line_type,channels,automated,numbers,platform,extensions');
    expect(lines.slice(header + 1, header + 3)).toEqual([
      '  104,<client_id>,<site_id>,<user_id>,<plan_id>,centrex_user,1,false,,,104',
      '  105,<client_id>,<site_id>,<user_id>,<plan_id>,centrex_user,1,false,+33478000105,,',
    ]);
    expect(lines).toContain('  104: 4 calls');
    expect(lines).toContain('unknown accounts taken for trunks, not subscribers: keyyo (3 calls); see the options to add');
    expect(lines).toContain(String.raw`  --trunk '^(DAHDI|Zap|mISDN|CAPI)\/|[/_.-](trunk|pstn|provider|gateway|gw|operator|carrier|sbc)([_.-]|$)|^PJSIP/keyyo$'`);
    expect(lines.at(-1)).toBe('nothing was written');
    expect(readdirSync(cwd)).toEqual([]);
    // The log has the counts, never a number of the export.
    expect(stderr).toContain('inspect complete');
    expect(stderr).not.toMatch(/478000105|0612345678|\+33/);
  });

  it('the suggested --trunk, pasted back, places the provider calls as inbound', async () => {
    const cwd = dir();
    const first = await inspect(cwd, `${PBX}/onboarding/Master.csv`);
    const trunk = /--trunk '(.*)'/.exec(first.stdout)![1]!;
    const { stdout } = await inspect(cwd, '--trunk', trunk, `${PBX}/onboarding/Master.csv`);
    expect(stdout).toContain('  internal 0, inbound 2, outbound 1, unanswered 2, refused 7\n');
    expect(stdout).toContain('no option to add\n');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('--json: one document of a stable shape (README "Onboarding a PBX")', async () => {
    const cwd = dir();
    const { stdout } = await inspect(cwd, '--json', '--trunk', '^(PJSIP/ovh|DAHDI/)', `${PBX}/asterisk-Master.csv`);
    const report = JSON.parse(stdout);
    expect(Object.keys(report)).toEqual(['version', 'files', 'totals', 'unknownSubscribers', 'routes', 'dialPlan', 'destinations', 'suggestions', 'written']);
    expect(report.version).toBe(1);
    expect(report.written).toBe(false);
    expect(Object.keys(report.files[0])).toEqual(['path', 'format', 'profile', 'template', 'read', 'calls', 'refused', 'notes']);
    expect(report.files[0]).toMatchObject({ path: `${PBX}/asterisk-Master.csv`, format: 'asterisk', read: 19, calls: { internal: 5, inbound: 4, outbound: 8, unanswered: 2, refused: 0 } });
    expect(report.totals).toEqual({ read: 19, internal: 5, inbound: 4, outbound: 8, unanswered: 2, refused: 0 });
    expect(report.unknownSubscribers).toEqual({ header: 'account,client_id,site_id,user_id,plan_id,line_type,channels,automated,numbers,platform,extensions', entries: [], more: 0, trunks: [] });
    expect(report.dialPlan.yaml).toBe('pbx:\n  - client_id: C-PME\n    extensions: ["*97", "100-199", "600"]\n');
    expect(report.destinations).toEqual([
      { class: 'fr_fixed', calls: 3 },
      { class: 'fr_mobile', calls: 2 },
      { class: 'emergency', calls: 1 },
      { class: 'fr_short', calls: 1 },
      { class: 'international', calls: 1 },
    ]);
    expect(report.suggestions).toEqual([]);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('a path that is not a file is a usage error (exit 2) before anything is read', async () => {
    const cwd = dir();
    const failed = await inspect(cwd, `${PBX}/asterisk-Master.csv`, `${PBX}/no-such-Master.csv`).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 2, stdout: '' });
    expect((failed as { stderr: string }).stderr).toContain(`error: ${PBX}/no-such-Master.csv: no such file or directory`);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('a file in no known format is one refusal that says what was expected; the command still succeeds', async () => {
    const cwd = dir();
    const file = dir('notes.txt', 'hello\nworld\n');
    const { stdout } = await inspect(cwd, file);
    expect(stdout).toContain(`${file}: format not recognised; 1 records read\n`);
    expect(stdout).toContain('  refused unknown_format: 1\n');
    expect(stdout).toContain('expected one of: canonical CSV');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('nothing was written');
  });
});
