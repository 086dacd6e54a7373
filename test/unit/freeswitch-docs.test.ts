/**
 * FreeSWITCH mod_json_cdr and mod_xml_cdr CDRs (test/fixtures/switch-exports/freeswitch-docs): the
 * same four calls of the Toulouse PBX as one document per leg in a directory, concatenated, in XML with
 * URL-encoded values, and as a legs=ab mod_cdr_csv file. An extension calling an extension after a
 * dialplan transfer is internal; a gateway that refused before the next one answered is one call; a
 * called party parked and taken back is billed for the time the trunk was held; an inbound call is
 * charged to the number called. Broken documents are one reject each.
 */
import { mkdtempSync, mkdirSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rateFiles } from '../../services/embedded/rate-files.js';
import { detectFormat, readExport, readFirstLines } from '../../services/ingest/readers/detect-format.js';
import type { SourceRecord } from '../../services/ingest/source-record.js';
import { collect, config, line, normalizeAll, rate } from './pbx-helpers.js';

const DOCS = 'test/fixtures/switch-exports/freeswitch-docs';
const CSV_TEMPLATE = `${DOCS}/cdr_csv.conf.xml`;
const A = (n: number): string => `5e1d00${n.toString(16)}-0b7c-4e21-8d3f-0000000000${n.toString(16)}`;

/** What a reader made of a call: id, who is charged, the numbers, times, seconds, outcome, and how many legs its raw holds. */
const compact = (r: SourceRecord): string =>
  [r.cdrId, r.account, r.caller, r.callee, r.start, r.answer, r.end, r.billableSeconds, r.disposition, r.direction, r.leg, String(r.internal), r.raw.split(/\n(?=\{|<\?xml|")/).length].join(' | ');

/** The same calls in every shape. */
const SHAPES: { name: string; path: string; options?: { freeswitchTemplate: string } }[] = [
  { name: 'mod_cdr_csv legs=ab', path: `${DOCS}/Master.csv`, options: { freeswitchTemplate: CSV_TEMPLATE } },
  { name: 'JSON, a directory of a_<uuid>.cdr.json and <uuid>.cdr.json (encoded values)', path: `${DOCS}/json` },
  { name: 'JSON, concatenated (encode-values=false)', path: `${DOCS}/calls.cdr.json` },
  { name: 'XML, a directory of .cdr.xml', path: `${DOCS}/xml` },
  { name: 'XML, concatenated', path: `${DOCS}/calls.cdr.xml` },
];

describe('FreeSWITCH JSON and XML CDRs', () => {
  it('reads a directory of JSON documents into one record per call (golden records)', async () => {
    const { records, rejects } = await collect(readExport(`${DOCS}/json`));
    expect(rejects).toEqual([]);
    expect(records.map(compact)).toEqual([
      // 1001 dialled 1002; the dialplan transferred the call (transfer_history, rdnis) before bridging user/1002.
      `${A(0x11)} | 1001 | 1001 | 1002 | 2026-02-05T08:00:00Z | 2026-02-05T08:00:03Z | 2026-02-05T08:00:33Z | 30 | answered | out | originating | true | 2`,
      // Gateway orange refused (NORMAL_TEMPORARY_FAILURE), gateway backup answered: one call, the three legs in its raw.
      `${A(0x21)} | 1001 | 1001 | 0612345678 | 2026-02-05T08:10:00Z | 2026-02-05T08:10:08Z | 2026-02-05T08:12:08Z | 120 | answered | out | originating | false | 3`,
      // 1002 parked the called party after 4 s (A leg billsec 4); 1003 took it back; the trunk leg lasted 15 s.
      `${A(0x31)} | 1002 | 1002 | 0145000000 | 2026-02-05T08:20:00Z | 2026-02-05T08:20:05Z | 2026-02-05T08:20:20Z | 15 | answered | out | originating | false | 2`,
      // From the network in the public context, answered at 1001.
      `${A(0x41)} |  | 0698112233 | 0561000101 | 2026-02-05T09:00:00Z | 2026-02-05T09:00:05Z | 2026-02-05T09:03:05Z | 180 | answered | in | originating | undefined | 2`,
    ]);
  });

  it('bills the calls: internal free, the mobile and the parked fixed call in the bundle for the trunk time, the inbound call to 1001 (golden bill)', async () => {
    const { records } = await collect(readExport(`${DOCS}/json`));
    const { cdrs, rejects } = normalizeAll(records);
    expect(rejects).toEqual([]);
    expect(cdrs.map(line)).toEqual([
      '1 | 1001 | ext:1001 | ext:1002 | internal | out | originating | answered | 30',
      '1 | 1001 | ext:1001 | +33612345678 | fr_mobile | out | originating | answered | 120',
      '1 | 1002 | ext:1002 | +33145000000 | fr_fixed | out | originating | answered | 15',
      '1 | 1001 | +33698112233 | +33561000101 | fr_fixed | in | originating | answered | 180',
    ]);
    const { bill, alerts } = rate(cdrs);
    expect(bill).toEqual(['1 | ext:1002 | internal | 0.0000', '1 | +33612345678 | bundle | 0.0000', '1 | +33145000000 | bundle | 0.0000', '1 | +33561000101 | inbound | 0.0000']);
    expect(alerts).toEqual([]);
    expect(cdrs.map((c) => c.subscriber.userId)).toEqual(['U-1001', 'U-1001', 'U-1002', 'U-1001']);
  });

  it('gives the same calls and the same bill from CSV, JSON and XML, one file or a directory', async () => {
    const bills: string[][] = [];
    for (const shape of SHAPES) {
      const { records, rejects } = await collect(readExport(shape.path, shape.options));
      expect(rejects, shape.name).toEqual([]);
      const { cdrs } = normalizeAll(records);
      const withoutLine = (s: string): string => s.replace(/^\d+ \| /, '');
      bills.push([...cdrs.map((c) => `${c.cdrId} ${withoutLine(line(c))}`), ...rate(cdrs).bill.map(withoutLine)]);
    }
    for (const [i, bill] of bills.entries()) expect(bill, SHAPES[i]!.name).toEqual(bills[0]);
    expect(bills[0]).toHaveLength(8);
  });

  it('keeps an extension-to-extension call in default internal after a dialplan transfer (it was a transferred leg at 0.1750)', async () => {
    const { records } = await collect(readExport(`${DOCS}/Master.csv`, { freeswitchTemplate: CSV_TEMPLATE }));
    const { cdrs } = normalizeAll(records.filter((r) => r.cdrId === A(0x11)));
    expect(cdrs.map(line)).toEqual(['2 | 1001 | ext:1001 | ext:1002 | internal | out | originating | answered | 30']);
    expect(rate(cdrs).bill).toEqual(['2 | ext:1002 | internal | 0.0000']);
  });

  it('reads URL-encoded XML values as the switch had them', async () => {
    const { records } = await collect(readExport(`${DOCS}/xml/a_${A(0x21)}.cdr.xml`));
    // One A leg alone: its own seconds; `@`, `|` and the stamps' spaces and colons were %-encoded.
    expect(records.map((r) => [r.device, r.callee, r.start, r.billableSeconds])).toEqual([['sofia/internal/1001@192.168.1.20', '0612345678', '2026-02-05T08:10:00Z', '120']]);
  });

  it('detects JSON and XML documents by their content', async () => {
    for (const path of [`${DOCS}/calls.cdr.json`, `${DOCS}/calls.cdr.xml`, `${DOCS}/json/a_${A(0x11)}.cdr.json`]) {
      expect(detectFormat(path, await readFirstLines(path)), path).toBe('freeswitch-doc');
    }
    expect(detectFormat('x.json', ['{"name": "not a CDR"}'])).toBeNull();
    expect(detectFormat('x.xml', ['<?xml version="1.0"?>', '<invoice/>'])).toBeNull();
  });

  it('rejects a JSON document cut short and one that is not a CDR, naming the file and line, and reads the others', async () => {
    const { records, rejects } = await collect(readExport(`${DOCS}/broken/spool.cdr.json`));
    expect(rejects.map((r) => [r.line, r.reason, r.detail])).toEqual([
      [2, 'unknown_format', 'the document at line 2 of spool.cdr.json is cut short: the JSON document does not end before the next one or the end of the file (a switch stopped while writing it?); the other documents were read'],
      [4, 'unknown_format', 'the document at line 4 of spool.cdr.json has no `variables` object: it is not a mod_json_cdr CDR; the other documents were read'],
    ]);
    expect(rejects[0]!.raw.startsWith('{"core-uuid"')).toBe(true);
    // The inbound call around them, its two legs paired across the broken one.
    expect(records.map(compact)).toEqual([`${A(0x41)} |  | 0698112233 | 0561000101 | 2026-02-05T09:00:00Z | 2026-02-05T09:00:05Z | 2026-02-05T09:03:05Z | 180 | answered | in | originating | undefined | 2`]);
  });

  it('rejects an XML document that is not well-formed, with the line of the fault', async () => {
    const { records, rejects } = await collect(readExport(`${DOCS}/broken/spool.cdr.xml`));
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([[90, 'unknown_format']]);
    expect(rejects[0]!.detail).toMatch(/^the document at line 90 of spool\.cdr\.xml is not well-formed XML \(.*closing tag.*; at line 115 of the file\); the other documents were read$/);
    expect(records.map((r) => r.cdrId)).toEqual([A(0x41)]);
  });

  it('refuses the files of a directory that are not CDR documents, one reject each, and reads the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fs-docs-'));
    copyFileSync(`${DOCS}/json/a_${A(0x41)}.cdr.json`, join(dir, `a_${A(0x41)}.cdr.json`));
    copyFileSync(`${DOCS}/json/${A(0x42)}.cdr.json`, join(dir, `${A(0x42)}.cdr.json`));
    writeFileSync(join(dir, 'notes.txt'), 'rotate on sunday\n');
    writeFileSync(join(dir, '.DS_Store'), 'x');
    mkdirSync(join(dir, 'errors'));
    const { records, rejects } = await collect(readExport(dir));
    expect(rejects.map((r) => [r.source.split('/').pop(), r.line, r.reason, r.detail])).toEqual([
      ['notes.txt', 0, 'unknown_format', 'not read: in a directory only FreeSWITCH CDR documents (.json, .xml, .cdr…) are read; give notes.txt to cdr rate as a file of its own'],
    ]);
    expect(records.map((r) => [r.cdrId, r.source.split('/').pop()])).toEqual([[A(0x41), `a_${A(0x41)}.cdr.json`]]);
    const empty = mkdtempSync(join(tmpdir(), 'fs-docs-empty-'));
    expect((await collect(readExport(empty))).rejects.map((r) => r.reason)).toEqual(['empty_file']);
  });

  it('rates a directory end to end with cdr rate (rateFiles), twice: the second run counts every call as a duplicate', async () => {
    const work = mkdtempSync(join(tmpdir(), 'fs-docs-rate-'));
    const run = () => rateFiles({ config, dataDir: join(work, 'state'), outDir: join(work, 'out'), sourceZone: 'Europe/Paris', files: [`${DOCS}/json`] });
    const first = await run();
    expect([first.read, first.rated, first.rejected.total, first.duplicates]).toEqual([4, 4, 0, 0]);
    expect(first.byReason).toEqual({ internal: 1, bundle: 2, inbound: 1 });
    const second = await run();
    expect([second.read, second.rated, second.duplicates]).toEqual([4, 0, 4]);
  });
});
