/**
 * An export's bill does not depend on how the switch or the operator handed it over: the same records
 * shuffled, some written twice, or re-exported in another shape (the database's table, its SQL dump)
 * give the same bill, call by call, with every copy after the first counted as a duplicate.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { screenCdrIds } from '../../services/ingest/cdr-identity.js';
import { readExport } from '../../services/ingest/readers/detect-format.js';
import { tempDir } from '../support/tmp.js';
import { PBX, PBX_TRUNKS, collect, normalizeAll, rate } from './pbx-helpers.js';

const dir = tempDir();

/** The bill as invoicing sees it: each call once (by id), its callee, reason and amount. */
async function billOf(path: string): Promise<{ bill: string[]; duplicates: number }> {
  const cdrs = normalizeAll((await collect(readExport(path, { trunks: PBX_TRUNKS }))).records).cdrs;
  const { fresh, duplicates } = screenCdrIds(cdrs, () => undefined);
  const byLine = new Map(fresh.map((c) => [c.line, c.cdrId]));
  const bill = rate(fresh).bill.map((b) => {
    const [line, ...rest] = b.split(' | ');
    return [byLine.get(Number(line)), ...rest].join(' | ');
  });
  return { bill: bill.sort(), duplicates };
}

describe('the same records in any order, some twice, in any export of them, give the same bill', () => {
  for (const fixture of ['freepbx-cdr-report.csv', 'asterisk-Master.csv']) {
    it(`${fixture}: shuffled, with copies`, async () => {
      const lines = readFileSync(join(PBX, fixture), 'utf8').trimEnd().split('\n');
      const header = fixture.startsWith('freepbx') ? lines.splice(0, 1) : [];
      const expected = await billOf(join(PBX, fixture));
      expect(expected.bill.length).toBeGreaterThan(0);
      await fc.assert(
        fc.asyncProperty(fc.shuffledSubarray(lines, { minLength: lines.length }), fc.array(fc.nat(lines.length - 1), { maxLength: 5 }), async (order, copies) => {
          const again = [...order, ...copies.map((i) => lines[i]!)];
          const path = dir('export.csv', [...header, ...again].join('\n') + '\n');
          const got = await billOf(path);
          expect(got.bill).toEqual(expected.bill);
        }),
        { numRuns: 25, seed: 19 },
      );
    });
  }

  it('the FreePBX table export and the SQL dump of the same table bill the same calls under the same ids', async () => {
    const csv = await billOf(join(PBX, 'freepbx-cdr-report.csv'));
    const dump = await billOf(join(PBX, 'asteriskcdrdb-dump.sql'));
    expect(dump.bill).toEqual(csv.bill);
  });
});
