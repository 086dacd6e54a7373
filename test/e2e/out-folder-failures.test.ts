/**
 * No bill hidden by a failed --out (issue 23, part 1): on a real full disk (a tmpfs of a few kilobytes)
 * `cdr rate` ends at once, names the --out folder (not the data directory), keeps what it billed in the
 * store, `cdr runs` lists the run as not exported with the command that fixes it, and the next `cdr rate`
 * that can write exports it: every rated.csv row summed equals the store's bill to the cent, every call once.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateWorkload, type GenerateResult } from '../../services/generator/generate-workload.js';
import { invoiced, storeBill } from '../support/run-folders.js';
import { CAN_MOUNT, mountTmpfs, unmount } from '../support/tmpfs.js';

const run = promisify(execFile);
const CLI = 'dist/services/cli/main.js';
const root = mkdtempSync(join(tmpdir(), 'cdr-out-full-'));
const mounts: string[] = [];
let small: GenerateResult;
let large: GenerateResult;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function cdr(...args: string[]): Promise<Outcome> {
  try {
    const r = await run('node', [CLI, ...args], { maxBuffer: 1 << 24 });
    return { code: 0, ...r };
  } catch (e) {
    const f = e as { code: number; stdout: string; stderr: string };
    return { code: f.code, stdout: f.stdout, stderr: f.stderr };
  }
}

const rate = (month: GenerateResult, data: string, out: string, ...more: string[]) =>
  cdr('rate', '--subscribers', month.subscribersFile, '--data', data, '--out', out, ...more, ...month.files);

/** A tmpfs of `size` with all but `free` of it taken by a filler file: a disk about to be full. */
function nearlyFullDisk(name: string, size: number, free: number): { dir: string; freeSpace: () => void } {
  const dir = join(root, name);
  mountTmpfs(dir, `${size}k`);
  mounts.push(dir);
  const filler = join(dir, 'someone-elses-file');
  writeFileSync(filler, Buffer.alloc((size - free) * 1024));
  return { dir, freeSpace: () => rmSync(filler) };
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "make build" first`);
  small = await generateWorkload({ subscribers: 20, days: 5, seed: 3, startDate: '2026-03-02', outDir: join(root, 'small') });
  // Big enough that rated.csv's first 1 MB write comes while chunks are still being rated.
  large = await generateWorkload({ subscribers: 40, days: 10, seed: 5, startDate: '2026-03-02', outDir: join(root, 'large'), inject: ['distinct_numbers', 'pool_exhausted'] });
}, 60_000);

afterEach(() => {
  for (const m of mounts.splice(0)) unmount(m);
});

afterAll(() => {
  for (const m of mounts.splice(0)) unmount(m);
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!CAN_MOUNT)('a full --out', () => {
  it('after the commit: ends naming the --out folder, lists the run as not exported, and the next run exports it to the cent', async () => {
    const data = join(root, 'state-1');
    const disk = nearlyFullDisk('out-1', 1024, 32);

    const failed = await rate(small, data, disk.dir);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`cannot write the output folder ${disk.dir}: its disk is full (ENOSPC`);
    expect(failed.stderr).toContain('Run 1 is committed');
    expect(failed.stderr).toContain(`cdr export --run 1 --data ${data}`);
    expect(failed.stderr).not.toMatch(/cannot (write|open) the data directory/);
    // Billed in the store, in no rated.csv.
    const bill = storeBill(data);
    expect(bill.calls).toBe(small.cdrs);
    expect(invoiced(disk.dir).billed.size).toBe(0);

    const listed = await cdr('runs', '--data', data);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^run 1 committed NOT EXPORTED /m);
    expect(listed.stdout).toContain(`not exported: ${join(disk.dir, 'run-000001')}/ was not written (its disk is full (ENOSPC`);
    expect(listed.stdout).toContain(`cdr export --run 1 --data ${data}`);

    disk.freeSpace();
    const next = await rate(small, data, disk.dir);
    expect(next.code).toBe(0);
    expect(next.stdout).toMatch(/exported run\(s\) 1, committed earlier but not exported/);
    expect(JSON.parse(readFileSync(join(disk.dir, 'run-000002', 'summary.json'), 'utf8'))).toMatchObject({ reexported: [1], rated: 0, duplicates: small.cdrs });
    expect((await cdr('runs', '--data', data)).stdout).toMatch(/^run 1 committed exported /m);

    const got = invoiced(disk.dir);
    expect(got.billed.size).toBe(small.cdrs);
    expect([...got.billed.values()].every((n) => n === 1)).toBe(true);
    expect(got.totals).toEqual(bill.totals);
    expect(storeBill(data)).toEqual(bill);
  }, 60_000);

  it('while rating: stops at once, keeps what it billed, and the same files rated again bill every call once', async () => {
    const data = join(root, 'state-2');
    const disk = nearlyFullDisk('out-2', 4096, 32);

    const failed = await rate(large, data, disk.dir, '--chunk-size', '500');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`cannot write the output folder ${disk.dir}: its disk is full (ENOSPC`);
    expect(failed.stderr).toMatch(/Run 1 stopped: the \d+ call\(s\) it billed are kept in the store/);
    expect(failed.stderr).toContain(`rate the same files again with --data ${data}`);
    const partly = storeBill(data).calls;
    expect(partly).toBeGreaterThan(0);
    expect(partly).toBeLessThan(large.cdrs);
    expect((await cdr('runs', '--data', data)).stdout).toMatch(/^run 1 interrupted NOT EXPORTED .* rated \d+ /m);

    disk.freeSpace();
    const next = await rate(large, data, disk.dir, '--chunk-size', '500');
    expect(next.code).toBe(0);
    expect(next.stdout).toMatch(/recovered the outputs of interrupted run\(s\) 1/);
    const got = invoiced(disk.dir);
    expect(got.billed.size).toBe(large.cdrs);
    expect([...got.billed.values()].every((n) => n === 1)).toBe(true);
    expect(got.totals).toEqual(storeBill(data).totals);
  }, 60_000);

  it('still full at the next run: that run rates into its own --out, and the earlier run stays listed until cdr export writes it', async () => {
    const data = join(root, 'state-3');
    const disk = nearlyFullDisk('out-3', 1024, 32);
    expect((await rate(small, data, disk.dir)).code).toBe(1);

    // Another --out: this run is not held back by a folder it does not write, and says what is left.
    const elsewhere = join(root, 'out-3-elsewhere');
    const next = await rate(small, data, elsewhere);
    expect(next.code).toBe(0);
    expect(next.stdout).toContain(`run 1 is still not exported: ${disk.dir} (its disk is full (ENOSPC`);
    expect((await cdr('runs', '--data', data)).stdout).toMatch(/^run 1 committed NOT EXPORTED /m);

    // The same --out, still full: nothing new is rated, the folder is named.
    const blocked = await rate(small, data, disk.dir);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain(`cannot write the output folder ${disk.dir}: its disk is full (ENOSPC`);
    expect(blocked.stderr).toContain('nothing new was rated');
    expect((await cdr('runs', '--data', data)).stdout).not.toMatch(/^run 3 /m);

    disk.freeSpace();
    const exported = await cdr('export', '--run', '1', '--data', data);
    expect(exported.code).toBe(0);
    expect((await cdr('runs', '--data', data)).stdout).not.toContain('NOT EXPORTED');
    const got = invoiced(disk.dir, elsewhere);
    expect(got.billed.size).toBe(small.cdrs);
    expect(got.totals).toEqual(storeBill(data).totals);
  }, 60_000);
});
