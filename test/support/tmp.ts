import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';

/** A temporary directory removed after each test. */
export function tempDir(): (name?: string, content?: string | Buffer) => string {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return (name?: string, content?: string | Buffer) => {
    const dir = mkdtempSync(join(tmpdir(), 'cdr-test-'));
    dirs.push(dir);
    if (name === undefined) return dir;
    const path = join(dir, name);
    writeFileSync(path, content ?? '');
    return path;
  };
}
