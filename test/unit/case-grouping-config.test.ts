/**
 * case_grouping.gap_minutes in config/fraud.yaml: 30 by default, read from the file, and a wrong value
 * fails on load with the file and the field named.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadYamlFile } from '../../services/config/yaml-file.js';
import { fraudConfigSchema } from '../../services/core/fraud/fraud-config.js';

const shipped = readFileSync('config/fraud.yaml', 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'cdr-fraud-yaml-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(text: string) {
  const file = join(dir, 'fraud.yaml');
  writeFileSync(file, text);
  return () => loadYamlFile(file, fraudConfigSchema);
}

describe('case_grouping in fraud.yaml', () => {
  it('is 30 minutes as shipped, and 30 when the section is absent', () => {
    expect(load(shipped)().case_grouping.gap_minutes).toBe(30);
    expect(load(shipped.replace(/^case_grouping:\n  gap_minutes: 30\n/m, ''))().case_grouping.gap_minutes).toBe(30);
  });

  it('refuses a negative, fractional or misspelt gap, naming the file and the field', () => {
    for (const bad of ['  gap_minutes: -1\n', '  gap_minutes: 2.5\n', '  gap_minute: 30\n']) {
      const text = shipped.replace(/^case_grouping:\n  gap_minutes: 30\n/m, `case_grouping:\n${bad}`);
      expect(text, bad).not.toBe(shipped);
      expect(load(text), bad).toThrow(/fraud\.yaml.*case_grouping/);
    }
  });
});
