/**
 * Files that ship with the project (SQL migrations, Avro schemas), found from the module that needs
 * them: code runs from services/ under tests and from dist/services/ once built.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest `relative` (e.g. "schemas/sql") in the folders above the module at `moduleUrl`. */
export function findUp(relative: string, moduleUrl: string): string {
  const start = dirname(fileURLToPath(moduleUrl));
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`${relative} not found above ${start}`);
  }
}
