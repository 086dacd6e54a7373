/**
 * Small real file systems for the tests of a full or read-only folder: a tmpfs of a few kilobytes fills
 * up exactly like a full disk (ENOSPC), and one remounted read-only refuses writes like a read-only
 * mount (EROFS), for root too (chmod does not stop root). Mounting needs root: where it is refused, the
 * tests that need it are skipped, and say so.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether this process may mount a tmpfs (root, and a kernel that lets it). */
export const CAN_MOUNT = (() => {
  if (process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(join(tmpdir(), 'cdr-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();

if (!CAN_MOUNT) process.stderr.write('tmpfs tests skipped: mounting a tmpfs needs root\n');

/** Mounts a tmpfs of `size` (mount's syntax: 64k, 1m) on `dir`, created if needed. */
export function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
}

export function remount(dir: string, options: string): void {
  execFileSync('mount', ['-o', `remount,${options}`, dir]);
}

/** Unmounts, if mounted; the tests call it in afterAll/afterEach whatever happened. */
export function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    // not mounted (the test failed before mounting it)
  }
}
