/**
 * config/high-risk-ranges.yaml: the maintained list of high-risk ranges, validated on load, each range
 * with a category and a source; premium_destination reads it unless its irsf_prefixes override is set.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Cdr } from '../../services/core/cdr.js';
import { HighRiskRanges, highRiskRangesSchema } from '../../services/core/fraud/high-risk-ranges.js';
import { loadConfig, type Config } from '../../services/config/load-config.js';
import { loadYamlFile } from '../../services/config/yaml-file.js';
import { pipelineFor } from '../support/pipeline.js';

const shipped = readFileSync('config/high-risk-ranges.yaml', 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'cdr-ranges-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(text: string) {
  const file = join(dir, 'high-risk-ranges.yaml');
  writeFileSync(file, text);
  return () => loadYamlFile(file, highRiskRangesSchema);
}

describe('config/high-risk-ranges.yaml', () => {
  const config = loadConfig('config');

  it('is loaded with the configuration, every range with a category and a source', () => {
    const prefixes = config.fraud.highRisk.prefixes;
    for (const p of ['979', '870', '881', '882', '883', '53', '252']) expect(prefixes).toContain(p);
    for (const r of config.fraud.highRisk.ranges) {
      expect(r.sources.length, r.prefix).toBeGreaterThan(0);
      for (const s of r.sources) expect(s.url, r.prefix).toMatch(/^https?:\/\//);
    }
    expect(config.fraud.highRisk.match('+979123456789')?.category).toBe('international_premium_rate');
    expect(config.fraud.highRisk.match('+870773123456')?.category).toBe('satellite');
    expect(config.fraud.highRisk.match('+33142000000')).toBeUndefined();
    expect(config.fraud.highRisk.match('979123456')).toBeUndefined();
  });

  it('matches the longest prefix', () => {
    const r = new HighRiskRanges([
      { prefix: '37', category: 'irsf', name: 'wide', sources: [] },
      { prefix: '3712', category: 'international_network', name: 'narrow', sources: [] },
    ]);
    expect(r.match('+37121234567')?.name).toBe('narrow');
    expect(r.match('+37161234567')?.name).toBe('wide');
  });

  it('refuses a duplicate prefix, an unknown category, a range without source, naming the file and the field', () => {
    expect(load(shipped)().ranges.length).toBeGreaterThan(5);
    const cases: [string, RegExp][] = [
      [shipped.replace('prefix: "883"', 'prefix: "882"'), /high-risk-ranges\.yaml: ranges\.\d+\.prefix: prefix "882" is listed twice/],
      [shipped.replace('category: satellite', 'category: space'), /ranges\.\d+\.category/],
      [shipped.replace('prefix: "979"', 'prefix: "+979"'), /ranges\.0\.prefix: prefix is E\.164 digits/],
      [shipped.replace(/sources:\n {6}- title: "International premium[^\n]*\n[^\n]*\n {6}- title: "howtophoneto[^\n]*\n[^\n]*\n/, 'sources: []\n'), /ranges\.0\.sources/],
    ];
    for (const [text, error] of cases) {
      expect(text).not.toBe(shipped);
      expect(load(text), String(error)).toThrow(error);
    }
  });

  it('feeds premium_destination, and an irsf_prefixes override replaces it', () => {
    const T0 = Date.parse('2026-03-04T10:00:00+01:00');
    const sub = config.directory.resolve('tcx01-u1001', '')!;
    const calls = (callee: string): Cdr[] =>
      Array.from({ length: 16 }, (_, i) => ({
        cdrId: `r-${callee}-${i}`, account: sub.account, caller: sub.numbers[0]!, callerOriginal: '', callee, startMs: T0 + i * 120_000, answerMs: T0 + i * 120_000 + 2000,
        endMs: T0 + i * 120_000 + 32_000, billableSeconds: 30, disposition: 'answered', direction: 'out', leg: 'originating', forwardReason: null, device: '', subscriber: sub, source: 't', line: i,
      }));
    const rules = (cfg: Config, callee: string) => {
      const p = pipelineFor(cfg);
      for (const c of calls(callee)) p.process(c);
      return p.drain().alerts.filter((a) => a.rule === 'fraud.premium_destination').length;
    };
    expect(rules(config, '+979123456789')).toBe(1); // +979, new in the file
    expect(rules(config, '+5353123456')).toBe(1); // Cuba, as before
    const override: Config = { ...config, fraud: { ...config.fraud, overrides: { 'C-TCX-01': { premium_destination: { irsf_prefixes: ['53'] } } } } };
    expect(rules(override, '+979123456789')).toBe(0);
    expect(rules(override, '+5353123456')).toBe(1);
  });
});
