/**
 * Every CSV the project writes opens in a spreadsheet without running a formula (OWASP CSV injection),
 * and reads back to the same values with any RFC 4180 parser.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config/load-config.js';
import { csvField, csvLine } from '../../services/csv/safe-csv.js';
import { rateFiles } from '../../services/embedded/rate-files.js';
import { ADJUSTMENT_COLUMNS, CSV_COLUMN_KINDS, REJECT_COLUMNS, writeCsv } from '../../services/embedded/output-files.js';
import { tempDir } from '../support/tmp.js';

const dir = tempDir();
const FORMULA_START = /^[=+\-@\t\r]/;

/** The rows of a written CSV, parsed back by papaparse, header first. */
function readBack(path: string): string[][] {
  const parsed = Papa.parse<string[]>(readFileSync(path, 'utf8'), { skipEmptyLines: true });
  expect(parsed.errors).toEqual([]);
  return parsed.data;
}

/** Fields that a spreadsheet would run, except the exempt values of exempt columns. */
function formulas(rows: string[][]): string[] {
  const [header, ...data] = rows;
  const out: string[] = [];
  for (const r of data) {
    r.forEach((v, i) => {
      const kind = CSV_COLUMN_KINDS[header![i]!];
      const exempt = (kind === 'phone' && /^\+\d+$/.test(v)) || (kind === 'amount' && /^-\d+(\.\d+)?$/.test(v));
      if (FORMULA_START.test(v) && !exempt) out.push(`${header![i]}=${v}`);
    });
  }
  return out;
}

describe('safe CSV fields', () => {
  it.each([
    ['=1+1', "'=1+1"],
    ['+1', "'+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['\rx', `"'\rx"`],
    ['=HYPERLINK("http://x")', `"'=HYPERLINK(""http://x"")"`],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['', ''],
    ['plain', 'plain'],
    ["'quoted", "'quoted"],
  ])('writes %j as %j in a text column', (value, written) => {
    expect(csvField(value)).toBe(written);
  });

  it('keeps an E.164 number in a phone column and a signed amount in an amount column, nothing else', () => {
    expect(csvField('+33612345678', 'phone')).toBe('+33612345678');
    expect(csvField('+33 6 12', 'phone')).toBe("'+33 6 12");
    expect(csvField('+1+1', 'phone')).toBe("'+1+1");
    expect(csvField('=1', 'phone')).toBe("'=1");
    expect(csvField('-1.2500', 'amount')).toBe('-1.2500');
    expect(csvField('-1+2', 'amount')).toBe("'-1+2");
    expect(csvField('+33612345678')).toBe("'+33612345678");
  });

  it('joins a record that papaparse reads back to the neutralised values', () => {
    const line = csvLine(['=1+1', 'a,"b"', '+33612345678', '-0.5000'], { kinds: ['text', 'text', 'phone', 'amount'] });
    expect(line.endsWith('\n')).toBe(true);
    expect(Papa.parse<string[]>(line.trimEnd()).data[0]).toEqual(["'=1+1", 'a,"b"', '+33612345678', '-0.5000']);
  });
});

describe('every CSV output of cdr rate', () => {
  const HEADER = 'cdr_id,account,caller,callee,start_time,answer_time,end_time,billable_seconds,disposition,direction,leg,forward_reason,device';
  const call = (id: string, account = 'tcx01-u1001', minute = 0) =>
    `${id},${account},0247501001,0612345678,2026-03-02T09:${String(minute).padStart(2, '0')}:00+01:00,2026-03-02T09:${String(minute).padStart(2, '0')}:05+01:00,2026-03-02T09:${String(minute + 1).padStart(2, '0')}:05+01:00,60,answered,out,originating,,`;

  it('neutralises hostile ids, accounts and raw lines in rated.csv and rejected.csv, and keeps the values readable', async () => {
    const input = dir('hostile.csv', [
      HEADER,
      call('=1+1', 'tcx01-u1001', 0),
      call('@SUM(A1)', 'tcx01-u1001', 2),
      call('-2+3', 'tcx01-u1001', 4),
      call('"=HYPERLINK(""http://x"")"', '"=HYPERLINK(""http://x"")"', 6), // unknown account: the caller's number finds the subscriber
      call('x-5', '=cmd|/c calc', 8),
      '@bad line starting with an at sign',
      '+33 this line starts with a plus,,,',
      '-1,=HYPERLINK("http://x"),,,,,,,,,,,',
    ].join('\n') + '\n');
    const summary = await rateFiles({ config: loadConfig('config'), dataDir: join(dir(), 'state'), outDir: join(dir(), 'out'), sourceZone: 'Europe/Paris', files: [input] });
    const out = dirname(summary.outputs['rated.csv']!);
    expect(summary.read).toBe(8);
    expect(summary.rated + summary.rejected.total + summary.duplicates).toBe(8);

    const rated = readBack(join(out, 'rated.csv'));
    expect(formulas(rated)).toEqual([]);
    const ids = rated.slice(1).map((r) => r[0]);
    expect(ids).toEqual(expect.arrayContaining(["'=1+1", "'@SUM(A1)", "'-2+3", `'=HYPERLINK("http://x")`, 'x-5']));
    // The callee of a rated row is E.164 and stays as it is.
    expect(rated.slice(1).map((r) => r[rated[0]!.indexOf('callee')])).toContain('+33612345678');

    const rejected = readBack(join(out, 'rejected.csv'));
    expect(rejected[0]).toEqual(['source', 'line', 'reason', 'raw', 'detail', 'raw_encoding']);
    expect(formulas(rejected)).toEqual([]);
    const raws = rejected.slice(1).map((r) => r[3]);
    expect(raws).toEqual(expect.arrayContaining(["'@bad line starting with an at sign", "'+33 this line starts with a plus,,,", `'-1,=HYPERLINK("http://x"),,,,,,,,,,,`]));
  });

  it('neutralises adjustments.csv and a bad_encoding reject, keeping negative amounts as numbers', async () => {
    const out = dir();
    await writeCsv(join(out, 'adjustments.csv'), ADJUSTMENT_COLUMNS, [['=1+1', '2026-03', '0.5000', '0.0000', '-0.5000', '@in_bundle', '+C-1', '-S', '=U', 'plan']]);
    const adjustments = readBack(join(out, 'adjustments.csv'));
    expect(formulas(adjustments)).toEqual([]);
    expect(adjustments[1]).toEqual(["'=1+1", '2026-03', '0.5000', '0.0000', '-0.5000', "'@in_bundle", "'+C-1", "'-S", "'=U", 'plan']);
    await writeCsv(join(out, 'rejected.csv'), REJECT_COLUMNS, [['-x.csv', '3', 'bad_encoding', Buffer.from('=1\0').toString('base64'), 'NUL byte', 'base64']]);
    const rejects = readBack(join(out, 'rejected.csv'));
    expect(formulas(rejects)).toEqual([]);
    expect(rejects[1]).toEqual(["'-x.csv", '3', 'bad_encoding', 'PTEA', 'NUL byte', 'base64']);
  });
});
