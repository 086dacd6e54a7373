/**
 * Property: whatever calls a FreeSWITCH PBX makes, its three CDR modules describe the same calls, so
 * they must give the same bill. Random days of the Toulouse PBX's traffic (extension to extension
 * after a dialplan transfer, outbound through gateways that may refuse first, parked calls, inbound
 * calls) are written as mod_cdr_csv legs=ab lines, mod_json_cdr documents (values encoded or not, one
 * file or a directory) and mod_xml_cdr documents (values URL-encoded, as switch_ivr_set_xml_chan_var
 * does), and read back.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readExport } from '../../services/ingest/readers/detect-format.js';
import { collect, line, normalizeAll, rate } from './pbx-helpers.js';

const TEMPLATE = 'test/fixtures/switch-exports/freeswitch-docs/cdr_csv.conf.xml';
const COLUMNS = ['caller_id_name', 'caller_id_number', 'destination_number', 'context', 'start_stamp', 'answer_stamp', 'end_stamp', 'duration', 'billsec', 'hangup_cause', 'uuid', 'bleg_uuid', 'originator', 'accountcode', 'channel_name', 'last_app', 'last_arg', 'sip_gateway_name', 'transfer_history', 'sip_refer_to'];
const PHONES = ['1001', '1002', '1003'];
const DOMAIN = 'pbx.toulouse.example';

interface Leg {
  file: string;
  vars: Record<string, string>;
  profile: Record<string, string>;
  bleg?: Leg;
  originator?: Leg;
}

type Call =
  | { kind: 'internal'; from: number; to: number; talk: number }
  | { kind: 'outbound'; from: number; number: string; refused: number; talk: number }
  | { kind: 'parked'; from: number; number: string; before: number; talk: number }
  | { kind: 'inbound'; to: number; caller: string; talk: number };

const phone = fc.integer({ min: 0, max: 2 });
const talk = fc.integer({ min: 1, max: 900 });
const call: fc.Arbitrary<Call> = fc.oneof(
  fc.record({ kind: fc.constant('internal' as const), from: phone, to: phone, talk }),
  fc.record({ kind: fc.constant('outbound' as const), from: phone, number: fc.constantFrom('0612345678', '0145000000', '0467123456'), refused: fc.integer({ min: 0, max: 2 }), talk }),
  fc.record({ kind: fc.constant('parked' as const), from: phone, number: fc.constantFrom('0145000000', '0698765432'), before: fc.integer({ min: 1, max: 20 }), talk }),
  fc.record({ kind: fc.constant('inbound' as const), to: phone, caller: fc.constantFrom('0698112233', '0240001122'), talk }),
);

/** Paris wall-clock text and epoch seconds of a moment (February: UTC+1). */
const DAY = Date.UTC(2026, 1, 9, 7, 0, 0) / 1000;
const stamp = (t: number): string => new Date((t + 3600) * 1000).toISOString().slice(0, 19).replace('T', ' ');

function legsOf(calls: Call[]): Leg[] {
  const legs: Leg[] = [];
  let n = 0;
  calls.forEach((c, i) => {
    const t0 = DAY + i * 3600;
    const uuid = (): string => `7c0f${(++n).toString(16).padStart(4, '0')}-1a2b-4c3d-8e9f-${n.toString(16).padStart(12, '0')}`;
    const leg = (o: { a?: boolean; channel: string; cid: string; dest: string; context: string; start: number; answer: number; end: number; cause?: string; extra?: Record<string, string> }): Leg => {
      const id = uuid();
      const vars: Record<string, string> = {
        uuid: id,
        channel_name: o.channel,
        start_stamp: stamp(o.start),
        start_epoch: String(o.start),
        end_stamp: stamp(o.end),
        end_epoch: String(o.end),
        answer_epoch: String(o.answer),
        duration: String(o.end - o.start),
        billsec: String(o.answer === 0 ? 0 : o.end - o.answer),
        hangup_cause: o.cause ?? 'NORMAL_CLEARING',
        ...(o.answer === 0 ? {} : { answer_stamp: stamp(o.answer) }),
        ...o.extra,
      };
      const l: Leg = { file: `${o.a === true ? 'a_' : ''}${id}.cdr`, vars, profile: { caller_id_name: `Ext ${o.cid}`, caller_id_number: o.cid, destination_number: o.dest, context: o.context, uuid: id, chan_name: o.channel } };
      legs.push(l);
      return l;
    };
    const pair = (a: Leg, b: Leg): void => {
      a.bleg = b;
      b.originator = a;
    };
    if (c.kind === 'internal') {
      const [from, to] = [PHONES[c.from]!, PHONES[c.to]!];
      const end = t0 + 3 + c.talk;
      const b = leg({ channel: `sofia/internal/${to}@192.168.1.2${c.to}`, cid: from, dest: to, context: 'default', start: t0, answer: t0 + 3, end, extra: { accountcode: to } });
      const a = leg({ a: true, channel: `sofia/internal/${from}@192.168.1.2${c.from}`, cid: from, dest: to, context: 'default', start: t0, answer: t0 + 3, end, extra: { accountcode: from, last_app: 'bridge', last_arg: `user/${to}@${DOMAIN}`, transfer_history: `${t0}:x:bl_xfer:${to}/default/XML` } });
      pair(a, b);
    } else if (c.kind === 'outbound' || c.kind === 'parked') {
      const from = PHONES[c.from]!;
      const gateways = ['orange', 'sfr', 'backup'].slice(0, c.kind === 'outbound' ? c.refused + 1 : 1);
      const target = gateways.map((g) => `sofia/gateway/${g}/${c.number}`).join('|');
      const refused = gateways.slice(0, -1).map((g, k) =>
        leg({ channel: `sofia/external/${c.number}@sip.${g}.example`, cid: `+3356100010${c.from + 1}`, dest: c.number, context: 'default', start: t0 + k + 1, answer: 0, end: t0 + k + 2, cause: 'NORMAL_TEMPORARY_FAILURE', extra: { sip_gateway_name: g } }),
      );
      const answer = t0 + 8;
      const trunkEnd = answer + c.talk;
      const phoneEnd = c.kind === 'parked' ? answer + c.before : trunkEnd;
      const bExtra: Record<string, string> = { sip_gateway_name: gateways[gateways.length - 1]! };
      if (c.kind === 'parked') Object.assign(bExtra, { last_app: 'valet_park', last_arg: 'park_lot *5901', transfer_history: `${answer + c.before}:x:uuid_br:y` });
      const b = leg({ channel: `sofia/external/${c.number}@sip.example`, cid: `+3356100010${c.from + 1}`, dest: c.number, context: 'default', start: t0 + gateways.length, answer, end: trunkEnd, extra: bExtra });
      const aExtra: Record<string, string> = { accountcode: from, last_app: 'bridge', last_arg: target };
      if (c.kind === 'parked') aExtra.sip_refer_to = `<sip:*5901@${DOMAIN}>`;
      const a = leg({ a: true, channel: `sofia/internal/${from}@192.168.1.2${c.from}`, cid: from, dest: `0${c.number}`, context: 'default', start: t0, answer, end: phoneEnd, extra: aExtra });
      pair(a, b);
      for (const r of refused) r.originator = a;
    } else {
      const to = PHONES[c.to]!;
      const end = t0 + 5 + c.talk;
      const did = `05610001${String(c.to + 1).padStart(2, '0')}`;
      const b = leg({ channel: `sofia/internal/${to}@192.168.1.2${c.to}`, cid: c.caller, dest: to, context: 'public', start: t0 + 1, answer: t0 + 5, end, extra: { accountcode: to } });
      const a = leg({ a: true, channel: `sofia/external/${c.caller}@62.210.0.1`, cid: c.caller, dest: did, context: 'public', start: t0, answer: t0 + 5, end, extra: { last_app: 'bridge', last_arg: `user/${to}@${DOMAIN}` } });
      pair(a, b);
    }
  });
  // FreeSWITCH writes a leg's CDR when its channel ends: by end time, the B leg first at a tie.
  return legs.sort((x, y) => Number(x.vars.end_epoch) - Number(y.vars.end_epoch) || (x.file.startsWith('a_') ? 1 : 0) - (y.file.startsWith('a_') ? 1 : 0));
}

/** switch_url_encode: control and non-ASCII bytes, and SWITCH_URL_UNSAFE, as %XX. */
const urlEncode = (v: string): string => [...Buffer.from(v, 'utf8')].map((b) => (b < 0x20 || b > 0x7e || '\r\n #%&+:;<=>?@[\\]^`{|}"'.includes(String.fromCharCode(b)) ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b))).join('');
const xmlText = (v: string): string => v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const variables = (l: Leg): Record<string, string> => ({ ...l.vars, ...(l.originator ? { originator: l.originator.vars.uuid! } : {}) });

function csvLine(l: Leg): string {
  const v: Record<string, string> = { ...variables(l), ...l.profile, bleg_uuid: l.bleg?.vars.uuid ?? '' };
  return COLUMNS.map((c) => `"${v[c] ?? ''}"`).join(',');
}

function jsonDoc(l: Leg, encode: boolean): string {
  const vars = Object.fromEntries(Object.entries(variables(l)).map(([k, v]) => [k, encode ? urlEncode(v) : v]));
  const profile: Record<string, unknown> = { ...l.profile };
  if (l.bleg) profile.originatee = { originatee_caller_profiles: [l.bleg.profile] };
  if (l.originator) profile.originator = { originator_caller_profiles: [l.originator.profile] };
  return JSON.stringify({ 'core-uuid': 'c0', switchname: 'pbx-toulouse', channel_data: { state: 'CS_REPORTING' }, variables: vars, callflow: [{ dialplan: 'XML', profile_index: '1', caller_profile: profile }] });
}

function xmlDoc(l: Leg): string {
  const fields = (p: Record<string, string>, indent: string): string => Object.entries(p).map(([k, v]) => `${indent}<${k}>${xmlText(v)}</${k}>`).join('\n');
  const linked = (tag: 'originatee' | 'originator', p: Record<string, string>): string => `      <${tag}>\n        <${tag}_caller_profile type="${tag}">\n${fields(p, '          ')}\n        </${tag}_caller_profile>\n      </${tag}>`;
  return [
    '<?xml version="1.0"?>',
    '<cdr core-uuid="c0" switchname="pbx-toulouse">',
    '  <variables>',
    ...Object.entries(variables(l)).map(([k, v]) => `    <${k}>${urlEncode(v)}</${k}>`),
    '  </variables>',
    '  <callflow dialplan="XML" profile_index="1">',
    '    <caller_profile>',
    fields(l.profile, '      '),
    ...(l.bleg ? [linked('originatee', l.bleg.profile)] : []),
    ...(l.originator ? [linked('originator', l.originator.profile)] : []),
    '    </caller_profile>',
    '  </callflow>',
    '</cdr>',
    '',
  ].join('\n');
}

/** The bill of a file or directory: each call as billed, and its price; lines differ between shapes. */
async function billOf(path: string, options = {}): Promise<string[]> {
  const { records, rejects } = await collect(readExport(path, options));
  expect(rejects).toEqual([]);
  const { cdrs, rejects: refused } = normalizeAll(records);
  expect(refused).toEqual([]);
  const withoutLine = (s: string): string => s.replace(/^\d+ \| /, '');
  return [...cdrs.map((c) => `${c.cdrId} ${withoutLine(line(c))}`).sort(), ...rate(cdrs).bill.map(withoutLine).sort()];
}

describe('FreeSWITCH: the same calls as CSV, JSON and XML give the same bill', () => {
  it('for random days of PBX traffic', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 8 }), fc.boolean(), async (calls, encode) => {
        const legs = legsOf(calls);
        const dir = mkdtempSync(join(tmpdir(), 'fs-prop-'));
        writeFileSync(join(dir, 'Master.csv'), legs.map(csvLine).join('\n') + '\n');
        writeFileSync(join(dir, 'calls.cdr.json'), legs.map((l) => jsonDoc(l, encode) + '\n').join(''));
        writeFileSync(join(dir, 'calls.cdr.xml'), legs.map(xmlDoc).join(''));
        mkdirSync(join(dir, 'json'));
        mkdirSync(join(dir, 'xml'));
        for (const l of legs) {
          writeFileSync(join(dir, 'json', `${l.file}.json`), jsonDoc(l, encode) + '\n');
          writeFileSync(join(dir, 'xml', `${l.file}.xml`), xmlDoc(l));
        }
        const csv = await billOf(join(dir, 'Master.csv'), { freeswitchTemplate: TEMPLATE });
        // One call each: the gateways that refused and the parked leg are not calls of their own.
        expect(csv.length).toBe(2 * calls.length);
        // Each billed for its talk time; a parked call for the time its trunk leg was held.
        const seconds = (bill: string[]): number[] => bill.slice(0, calls.length).map((l) => Number(l.split(' | ').pop())).sort((x, y) => x - y);
        expect(seconds(csv)).toEqual(calls.map((c) => c.talk).sort((x, y) => x - y));
        for (const shape of ['calls.cdr.json', 'calls.cdr.xml', 'json', 'xml']) expect(await billOf(join(dir, shape)), shape).toEqual(csv);
      }),
      { numRuns: 25, seed: 20261203 },
    );
  }, 60_000);
});

describe('FreeSWITCH documents, mangled', () => {
  const json = readFileSync('test/fixtures/switch-exports/freeswitch-docs/calls.cdr.json');
  const xml = readFileSync('test/fixtures/switch-exports/freeswitch-docs/calls.cdr.xml');
  it('are cut right across the 64 kB blocks the file is read in', async () => {
    for (const [source, name] of [[json, 'calls.cdr.json'], [xml, 'calls.cdr.xml']] as const) {
      const path = join(mkdtempSync(join(tmpdir(), 'fs-blocks-')), name);
      // Each copy shifted by a few bytes, so that block ends fall inside documents, strings and `</cdr>`.
      writeFileSync(path, Array.from({ length: 12 }, (_, k) => ' '.repeat(k * 7) + source.toString('utf8')).join('\n'));
      const { records, rejects } = await collect(readExport(path));
      expect(rejects, name).toEqual([]);
      expect(records, name).toHaveLength(48);
    }
  });

  it('never throw out of the reader: a mangled file gives records or rejects, each reject naming the file', async () => {
    const mangle = fc.record({ source: fc.constantFrom(json, xml), cuts: fc.array(fc.record({ at: fc.nat(), len: fc.nat({ max: 400 }), junk: fc.uint8Array({ maxLength: 12 }) }), { minLength: 1, maxLength: 4 }) });
    await fc.assert(
      fc.asyncProperty(mangle, async ({ source, cuts }) => {
        let bytes = Buffer.from(source);
        for (const c of cuts) {
          const at = c.at % bytes.length;
          bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(c.junk), bytes.subarray(Math.min(bytes.length, at + c.len))]);
        }
        const path = join(mkdtempSync(join(tmpdir(), 'fs-mangled-')), source === json ? 'calls.cdr.json' : 'calls.cdr.xml');
        writeFileSync(path, bytes);
        const { records, rejects } = await collect(readExport(path));
        expect(records.length + rejects.length).toBeGreaterThan(0);
        for (const r of rejects) expect(r.detail, r.detail).toMatch(/calls\.cdr\.(json|xml)|format not recognised|the file has no record/);
      }),
      { numRuns: 60, seed: 20261204 },
    );
  }, 60_000);
});
