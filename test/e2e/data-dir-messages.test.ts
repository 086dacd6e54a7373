/**
 * Messages that say what happened where (issue 23, part 9): a --data that does not exist is not made into
 * an empty store by the commands that only read one, and a read-only data directory is said to be
 * read-only, with its path and what to do, not reported as a wrong path. (A full --out reported as the
 * data directory: test/e2e/out-folder-failures.test.ts.)
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CAN_MOUNT, mountTmpfs, remount, unmount } from '../support/tmpfs.js';

const run = promisify(execFile);
const CLI = 'dist/services/cli/main.js';
const root = mkdtempSync(join(tmpdir(), 'cdr-data-dir-'));
const mounted: string[] = [];

async function cdr(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return { code: 0, ...(await run('node', [CLI, ...args])) };
  } catch (e) {
    const f = e as { code: number; stdout: string; stderr: string };
    return { code: f.code, stdout: f.stdout, stderr: f.stderr };
  }
}

afterAll(() => {
  for (const m of mounted) unmount(m);
  rmSync(root, { recursive: true, force: true });
});

const READERS: [string, string[]][] = [
  ['runs', ['runs']],
  ['rejects', ['rejects']],
  ['explain', ['explain', 'some-cdr-id']],
  ['export', ['export', '--run', '1']],
  // The desk's commands: a typo used to give an empty store that refused every token or had no client.
  ['serve', ['serve', '--port', '0']],
  ['invoice', ['invoice', '--period', '2026-03']],
  ['close', ['close', '--period', '2026-03']],
  ['token list', ['token', 'list']],
  ['token create', ['token', 'create', '--role', 'analyst', '--name', 'ana']],
  ['audit verify', ['audit', 'verify']],
];

describe('a --data that does not exist', () => {
  it.each(READERS)('cdr %s says there is no data directory there, exits 1, and creates none', async (_, args) => {
    const data = join(root, `typo-${args.join('-')}`, 'state');
    const r = await cdr(...args, '--data', data);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no data directory at ${data} (cdr rate --data ${data} creates one)`);
    expect(existsSync(data)).toBe(false);
    expect(existsSync(join(root, `typo-${args.join('-')}`))).toBe(false);
  });

  it.each(READERS)('cdr %s on an empty folder leaves it empty', async (_, args) => {
    const data = join(root, `empty-${args.join('-')}`);
    mkdirSync(data);
    const r = await cdr(...args, '--data', data);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no data directory at ${data}`);
    expect(r.stderr).toContain(`cdr rate --data ${data} creates one`);
    expect(readdirSync(data)).toEqual([]);
  });
});

describe.skipIf(!CAN_MOUNT)('a read-only data directory', () => {
  it('is said to be read-only, with its path and what to do, by cdr rate and by the commands that read it', async () => {
    const data = join(root, 'ro-state');
    mountTmpfs(data, '4m');
    mounted.push(data);
    const out = join(root, 'ro-out');
    const first = await cdr('rate', '--subscribers', 'samples/subscribers.csv', '--data', data, '--out', out, 'samples/cdrs-2026-03-02.csv');
    expect(first.code).toBe(0);
    remount(data, 'ro');

    const rate = await cdr('rate', '--subscribers', 'samples/subscribers.csv', '--data', data, '--out', out, 'samples/cdrs-2026-03-03.csv');
    expect(rate.code).toBe(1);
    expect(rate.stderr).toContain(`the data directory ${data}: it is read-only`);
    expect(rate.stderr).toContain('make it writable for this user, or copy it to a writable place and give that --data');
    expect(rate.stderr).not.toMatch(/check the path|EROFS: read-only file system, /);
    expect(readdirSync(out)).toEqual(['run-000001']);

    for (const [, args] of READERS) {
      const r = await cdr(...args, '--data', data);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cannot open the data directory ${data}: it is read-only`);
      expect(r.stderr).not.toMatch(/check the path|no data directory/);
    }
  }, 60_000);
});
