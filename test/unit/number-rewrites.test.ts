/**
 * Carrier technical prefixes (`42331550*0612345678`, `4711#0612345678`) taken off before a number is
 * read, by rules the operator writes in number-rewrites.yaml: the call is billed to the number it
 * reached instead of refused as invalid_number, and only where the rule's scope says.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config/load-config.js';
import { Zone } from '../../services/core/calendar.js';
import { normalizeRecord } from '../../services/ingest/normalize.js';
import type { SourceRecord } from '../../services/ingest/source-record.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const SUBSCRIBERS = 'test/fixtures/switch-exports/pbx/subscribers.csv';

function configWith(rewrites: string) {
  const d = dir();
  copyFileSync(SUBSCRIBERS, join(d, 'subscribers.csv'));
  writeFileSync(join(d, 'number-rewrites.yaml'), rewrites);
  return loadConfig('config', join(d, 'subscribers.csv'));
}

const record = (callee: string, over: Partial<SourceRecord> = {}): SourceRecord => ({
  source: '/exports/carrier-2026-02.csv', line: 7, raw: '', cdrId: 'x-1', account: '101', caller: '', callee,
  start: '2026-02-10T09:00:00+01:00', answer: '2026-02-10T09:00:05+01:00', end: '2026-02-10T09:03:05+01:00',
  billableSeconds: '180', disposition: 'answered', direction: 'out', leg: '', forwardReason: '', device: '', ...over,
});

const RULES = `rewrites:
  - id: carrier-routing-code
    match: '^\\d{8}\\*(\\d+)$'
    replace: '$1'
    trunk: '^SIP/carrier'
  - id: hash-prefix
    match: '^\\d{4}#'
    replace: ''
    source: 'carrier-.*\\.csv$'
`;

describe('number rewriting', () => {
  const config = configWith(RULES);
  const ctx = { numbering: config.numbering, sourceZone: new Zone('Europe/Paris'), directory: config.directory, rewrites: config.rewrites };

  it('takes a carrier routing code off the callee on the trunk the rule names, and notes it', () => {
    const r = normalizeRecord(record('42331550*0612345678', { route: { trunk: 'SIP/carrier-b' } }), ctx);
    expect(r).toMatchObject({ ok: true, cdr: { callee: '+33612345678' }, notes: ['callee rewritten by carrier-routing-code: 42331550*0612345678 → 0612345678'] });
  });

  it('leaves the number alone on another trunk, where it stays an invalid number with its reject', () => {
    const r = normalizeRecord(record('42331550*0612345678', { route: { trunk: 'SIP/ovh' } }), ctx);
    expect(r.ok ? 'rated' : r.reject.reason).toBe('invalid_number');
  });

  it('scopes a rule to the files it names', () => {
    expect(normalizeRecord(record('4711#0612345678'), ctx)).toMatchObject({ ok: true, cdr: { callee: '+33612345678' } });
    const other = normalizeRecord(record('4711#0612345678', { source: '/exports/pbx.csv' }), ctx);
    expect(other.ok).toBe(false);
  });

  it('changes nothing without a rules file', () => {
    const plain = loadConfig('config', SUBSCRIBERS);
    expect(plain.rewrites.size).toBe(0);
    const r = record('0612345678');
    expect(plain.rewrites.apply(r)).toBe(r);
  });

  it('refuses a rule that is not a regular expression, naming the file and the field', () => {
    expect(() => configWith("rewrites:\n  - { id: bad, match: '^(\\d+', replace: '' }\n")).toThrow(/number-rewrites\.yaml: rewrites\.0\.match: match "\^\(\\d\+" is not a regular expression/);
  });
});
