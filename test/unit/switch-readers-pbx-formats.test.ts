/**
 * The same PBX realities in FreeSWITCH, Cisco UCM and a 3CX export read through a mapping profile:
 * internal calls free and silent, the number the trunk received, inbound trunks and gateways, the
 * CUCM variants (no types line, CMR files, every redirect code of Cisco's guide), row filters and
 * value transforms. Fixtures under test/fixtures/switch-exports/pbx.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../services/config/config-error.js';
import { NumberingPlan, numberingSchema } from '../../services/core/numbering.js';
import { loadYamlFile } from '../../services/config/yaml-file.js';
import { DialPlan } from '../../services/ingest/dial-plan.js';
import { readCucmCdr } from '../../services/ingest/readers/cucm-cdr.js';
import { ON_BEHALF_OF, REDIRECT_REASONS } from '../../services/ingest/readers/cucm-codes.js';
import { detectFormat, readExport, readFirstLines } from '../../services/ingest/readers/detect-format.js';
import { loadMappingProfile } from '../../services/ingest/readers/mapping-profile.js';
import { SubscriberDirectory } from '../../services/ingest/subscriber-directory.js';
import { PBX, collect, line, normalizeAll, rate } from './pbx-helpers.js';

const tempFile = (name: string, content: string): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'pbx-formats-')), name);
  writeFileSync(path, content);
  return path;
};

describe('FreeSWITCH PBX', () => {
  it('reads the bridge target: a gateway call priced on the number the gateway got, a call to a user internal', async () => {
    const { records, rejects } = await collect(readExport(`${PBX}/freeswitch-Master.csv`, { freeswitchTemplate: `${PBX}/freeswitch-cdr_csv.conf.xml` }));
    expect(rejects).toEqual([]);
    const { cdrs, rejects: refused } = normalizeAll(records);
    expect(refused).toEqual([]);
    expect(cdrs.map(line)).toEqual([
      '1 | 1001 | ext:1001 | ext:1002 | internal | out | originating | answered | 120',
      // Dialled 00612345678; sofia/gateway/orange was given 0612345678.
      '2 | 1001 | ext:1001 | +33612345678 | fr_mobile | out | originating | answered | 300',
      // From the public context: inbound, charged to the subscriber of the number called.
      '3 | 1003 | +33698112233 | +33561000100 | fr_fixed | in | originating | answered | 180',
      '4 | 1002 | ext:1002 | 112 | emergency | out | originating | answered | 90',
      '5 | 1003 | ext:1003 | ext:*98 | internal | out | originating | answered | 30',
      '6 | 1002 | ext:1002 | ext:1001 | internal | out | originating | no_answer | 0',
      '7 | 1003 | ext:1003 | +33145000000 | fr_fixed | out | originating | answered | 120',
    ]);
    expect(rate(cdrs).alerts).toEqual([]);
  });

  it('reads the stock example template in the dial plan: a prefix takes a line, a short number without it stays inside', async () => {
    const { records } = await collect(readExport(`${PBX}/freeswitch-example-Master.csv`));
    const { cdrs } = normalizeAll(records);
    expect(cdrs.map(line)).toEqual([
      '1 | 1001 | ext:1001 | ext:1002 | internal | out | originating | answered | 120',
      '2 | 1002 | ext:1002 | +33467123456 | fr_fixed | out | originating | answered | 120',
      // 3949 without the outside-line prefix 0 never left the PBX…
      '3 | 1003 | ext:1003 | ext:3949 | internal | out | originating | answered | 60',
      // …with it, it is the short number 3949, priced.
      '4 | 1003 | ext:1003 | 3949 | fr_short | out | originating | answered | 60',
      '5 | 1001 | +33698112233 | +33561000101 | fr_fixed | in | originating | answered | 180',
      // Emergency numbers leave without the prefix.
      '6 | 1001 | ext:1001 | 15 | emergency | out | originating | answered | 60',
    ]);
    expect(rate(cdrs).bill).toEqual([
      '1 | ext:1002 | internal | 0.0000',
      '2 | +33467123456 | bundle | 0.0000',
      '3 | ext:3949 | internal | 0.0000',
      '4 | 3949 | out_of_plan_destination | 0.3500',
      '5 | +33561000101 | inbound | 0.0000',
      '6 | 15 | emergency | 0.0000',
    ]);
  });
});

describe('Cisco UCM PBX', () => {
  const CUCM = `${PBX}/cdr_NantesCluster_01_202602041000_1.txt`;
  const CAR = `${PBX}/cdr_NantesCluster_01_202602041000_1-car-export.txt`;
  const CMR = `${PBX}/cmr_NantesCluster_01_202602041000_1.txt`;

  it('reads a PRI gateway (MGCP endpoint, span), forwarding inside the cluster, Native Call Queuing 818, a transfer out', async () => {
    const { records, rejects } = await collect(readExport(CUCM));
    expect(rejects).toEqual([]);
    const { cdrs } = normalizeAll(records);
    expect(cdrs.map(line)).toEqual([
      '3 | SEP0011AABB2001 | ext:2001 | ext:2002 | internal | out | originating | answered | 120',
      '4 | SEP0011AABB2001 | ext:2001 | +33612345678 | fr_mobile | out | originating | answered | 300',
      '5 | SEP0011AABB2003 | +33698112233 | 2003 | unknown | in | originating | answered | 180',
      '6 | SEP0011AABB2002 | +33145998877 | 2002 | unknown | in | originating | answered | 60',
      // Call Forward All from 2001 to 2002 inside the cluster: still one inbound call.
      '7 | SEP0011AABB2002 | +33698445566 | 2002 | unknown | in | originating | answered | 90',
      // Call Forward All to a mobile through the gateway: the forwarded leg, charged to 2002.
      '8 | SEP0011AABB2002 | ext:2002 | +33687654321 | fr_mobile | out | forwarded | answered | 240',
      // Hunt pilot 2999 without agents, sent to its second destination (redirect reason 818): inbound.
      '9 | SEP0011AABB2003 | +33612000111 | 2003 | unknown | in | originating | answered | 45',
      '10 | SEP0011AABB2003 | ext:2003 | +33556123456 | fr_fixed | out | transferred | answered | 200',
      '11 | SEP0011AABB2002 | ext:2002 | ext:2001 | internal | out | originating | no_answer | 0',
      '12 | SEP0011AABB2003 | ext:2003 | 112 | emergency | out | originating | answered | 90',
    ]);
    expect(cdrs.find((c) => c.leg === 'forwarded')!.forwardReason).toBe('unconditional');
    const { bill, alerts } = rate(cdrs);
    expect(bill.filter((b) => !b.endsWith('0.0000'))).toEqual(['8 | +33687654321 | fair_use.forwarding | 0.2400', '10 | +33556123456 | fair_use.forwarding | 0.0667']);
    expect(alerts).toEqual([]);
  });

  it('detects and reads a file whose data-types line was stripped (CAR exports) like the original', async () => {
    expect(detectFormat(CAR, await readFirstLines(CAR))).toBe('cucm');
    const original = await collect(readExport(CUCM));
    const stripped = await collect(readExport(CAR));
    expect(stripped.rejects).toEqual([]);
    expect(stripped.records.map((r) => ({ ...r, source: '', line: r.line + 1 }))).toEqual(original.records.map((r) => ({ ...r, source: '' })));
  });

  it('tells a CMR file for what it is', async () => {
    expect(detectFormat(CMR, await readFirstLines(CMR))).toBe('cucm');
    const { records, rejects } = await collect(readExport(CMR));
    expect(records).toEqual([]);
    expect(rejects).toHaveLength(1);
    expect(rejects[0]).toMatchObject({ line: 0, reason: 'unknown_format' });
    expect(rejects[0]!.detail).toMatch(/CMR file/);
    expect(rejects[0]!.detail).toMatch(/no billable call/);
  });

  it('knows every redirect reason code of Cisco’s guide: forwarding, transfer, or the same call', async () => {
    expect(REDIRECT_REASONS.size).toBe(69);
    expect(ON_BEHALF_OF.size).toBe(36);
    const lines = readFileSync(CUCM, 'utf8').split('\n');
    const header = lines[0]!.split(',').map((h) => h.replaceAll('"', ''));
    const template = lines[9]!; // line 10: a redirect to an outside number through the gateway
    const at = (name: string): number => header.indexOf(name);
    const rows = [...REDIRECT_REASONS.keys()].map((code) => {
      const cells = template.split(',');
      for (const f of ['origCalledPartyRedirectReason', 'lastRedirectRedirectReason']) cells[at(f)] = code;
      for (const f of ['origCalledPartyRedirectOnBehalfOf', 'lastRedirectRedirectOnBehalfOf', 'joinOnBehalfOf']) cells[at(f)] = '0';
      return cells.join(',');
    });
    const { records } = await collect(readCucmCdr(tempFile('cdr_x.txt', [lines[0], ...rows].join('\n'))));
    const legOf = (code: string): string => {
      const r = records[[...REDIRECT_REASONS.keys()].indexOf(code)]!;
      return `${r.leg}${r.forwardReason ? ':' + r.forwardReason : ''}`;
    };
    expect(records).toHaveLength(REDIRECT_REASONS.size);
    for (const [code, { means }] of REDIRECT_REASONS) {
      const expected = means.kind === 'forward' ? `forwarded${means.reason ? ':' + means.reason : ''}` : means.kind === 'transfer' ? 'transferred' : 'originating';
      expect(legOf(code), `redirect reason ${code}`).toBe(expected);
    }
    expect(['1', '2', '15', '818'].map(legOf)).toEqual(['forwarded:busy', 'forwarded:no_answer', 'forwarded:unconditional', 'forwarded:unreachable']);
    expect(['4', '34', '130', '146'].map(legOf)).toEqual(['transferred', 'transferred', 'transferred', 'transferred']);
    expect(['5', '7', '98', '786'].map(legOf)).toEqual(['originating', 'originating', 'originating', 'originating']);
  });
});

describe('a 3CX export through a mapping profile', () => {
  const profile = loadMappingProfile('config/profiles/3cx-call-log.yaml');

  it('skips the system rows it is told to skip, reporting each, and takes the extension out of "Ext.201 Name"', async () => {
    const { records, rejects } = await collect(readExport(`${PBX}/3cx-call-log.csv`, { profile }));
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [4, 'skipped_by_profile'],
      [7, 'skipped_by_profile'],
    ]);
    expect(rejects[0]!.detail).toContain('skip_rows[0]');
    const { cdrs } = normalizeAll(records);
    expect(cdrs.map(line)).toEqual([
      '2 | 201 | ext:201 | ext:202 | internal | out | originating | answered | 120',
      '3 | 201 | ext:201 | +33612345678 | fr_mobile | out | originating | answered | 300',
      '5 | 202 | +33698112233 | 202 | unknown | in | originating | answered | 180',
      '6 | 202 | ext:202 | +4930123456 | international | out | originating | answered | 60',
      '8 | 202 | ext:202 | +33899123456 | fr_premium | out | originating | answered | 40',
    ]);
  });

  it('refuses a filter or a transform that cannot work, naming the field', () => {
    const bad = (extra: string) => tempFile('p.yaml', `name: x\ncolumns: { account: A, callee: B, start_time: C, end_time: D }\n${extra}\n`);
    expect(() => loadMappingProfile(bad('skip_rows: [{ column: A }]'))).toThrow(/exactly one of equals or matches/);
    expect(() => loadMappingProfile(bad('transforms: { callee: { regex: "(" } }'))).toThrow(ConfigError);
    expect(() => loadMappingProfile(bad('transforms: { callee: { regex: "(" } }'))).toThrow(/transforms\.callee\.regex/);
  });
});

describe('dial plan and directory', () => {
  const numbering = new NumberingPlan(loadYamlFile('config/numbering.yaml', numberingSchema));

  it('reads extension ranges digit for digit, and refuses ranges it cannot read', () => {
    const plan = new DialPlan({ default: { extensions: [], outside_prefix: '' }, pbx: [{ client_id: 'C', extensions: ['100-199', '*97'], outside_prefix: '9' }] }).of('C', 'any');
    expect(['100', '150', '199', '*97'].map((e) => plan.isExtension(e))).toEqual([true, true, true, true]);
    expect(['99', '200', '1000', '0150', '*98'].map((e) => plan.isExtension(e))).toEqual([false, false, false, false, false]);
    expect(plan.outsidePrefix).toBe('9');
    const path = tempFile('dial-plan.yaml', 'pbx:\n  - { client_id: C, extensions: ["199-100"] }\n');
    expect(() => DialPlan.loadIfPresent(path)).toThrow(/pbx\.0\.extensions\.0/);
  });

  it('accepts any account and any E.164 number, and says where a peer name belongs when it is put among the numbers', () => {
    const header = 'account,client_id,site_id,user_id,plan_id,line_type,channels,automated,numbers,extensions';
    const ok = tempFile('subscribers.csv', `${header}\nPJSIP/alice@pbx.example,C,S,U,p,centrex_user,1,false,+14155550100;+4930123456,1001\n`);
    const directory = SubscriberDirectory.load(ok, numbering);
    expect(directory.resolve('PJSIP/alice@pbx.example', '')?.numbers).toEqual(['+14155550100', '+4930123456']);
    expect(directory.resolve('', '+14155550100')?.userId).toBe('U');
    expect(directory.resolve('1001', '')?.userId).toBe('U');
    const peerAsNumber = tempFile('subscribers.csv', `${header}\n123654987,C,S,U,p,centrex_user,1,false,123654987,\n`);
    expect(() => SubscriberDirectory.load(peerAsNumber, numbering)).toThrow(/goes in account or extensions, not in numbers/);
  });

  it('reads a source’s national numbers in its --country', async () => {
    const file = tempFile('calls.csv', 'account,callee,start_time,end_time,billable_seconds\n101,4155550100,2026-02-02T09:00:00-08:00,2026-02-02T09:02:00-08:00,120\n');
    const { records } = await collect(readExport(file, { country: 'US' }));
    expect(records[0]!.country).toBe('US');
    const { cdrs } = normalizeAll(records);
    expect(cdrs.map((c) => c.callee)).toEqual(['+14155550100']);
    const { rejects } = normalizeAll((await collect(readExport(file))).records);
    expect(rejects.map((r) => r.reason)).toEqual(['invalid_number']);
  });
});
