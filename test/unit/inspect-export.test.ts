/**
 * `cdr inspect` on the PBX fixtures: what an operator reads before a first bill. Each record is counted
 * once (internal, inbound, outbound, unanswered, refused), the accounts the directory does not know become
 * subscribers.csv lines, a provider's trunk read as a phone becomes a `--trunk` to add, and applying the
 * suggestion does what it says.
 */
import { readFileSync } from 'node:fs';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config/load-config.js';
import { Zone } from '../../services/core/calendar.js';
import { ExportInspection, inspectExports, type InspectReport } from '../../services/ingest/inspect-export.js';
import { readExportBatches, type ReadExportOptions } from '../../services/ingest/readers/detect-format.js';
import { loadMappingProfile } from '../../services/ingest/readers/mapping-profile.js';
import type { ReadItem } from '../../services/ingest/source-record.js';
import { tempDir } from '../support/tmp.js';
import { PBX, config } from './pbx-helpers.js';

const ONBOARDING = `${PBX}/onboarding/Master.csv`;
const ASTERISK_DEFAULT = String.raw`^(DAHDI|Zap|mISDN|CAPI)\/|[/_.-](trunk|pstn|provider|gateway|gw|operator|carrier|sbc)([_.-]|$)`;
const tmp = tempDir();

function inspect(files: string[], read: ReadExportOptions = {}, tz = 'Europe/Paris'): Promise<InspectReport> {
  return inspectExports(files, { ctx: { numbering: config.numbering, sourceZone: new Zone(tz), directory: config.directory, limits: config.limits }, read });
}

const counts = (r: InspectReport, i = 0) => ({ read: r.files[i]!.read, ...r.files[i]!.calls });
const options = (r: InspectReport) => r.suggestions.map((s) => (s.value === undefined ? s.option : `${s.option} ${s.value}`));

describe('cdr inspect on the PBX fixtures', () => {
  it('a FreePBX table export and its SQL dump: one --trunk for both (the Asterisk rules read them), and a FreeSWITCH log-dir', async () => {
    const r = await inspect([`${PBX}/freepbx-cdr-report.csv`, `${PBX}/asteriskcdrdb-dump.sql`, 'test/fixtures/switch-exports/freeswitch-docs/json']);
    expect(r.files.map((f) => [f.format, f.read])).toEqual([['asterisk', 9], ['sql-dump', 9], ['freeswitch-doc', 4]]);
    expect(options(r)).toEqual([`--trunk ${ASTERISK_DEFAULT}|^PJSIP/ovh$`]);
    const declared = await inspect([`${PBX}/freepbx-cdr-report.csv`, `${PBX}/asteriskcdrdb-dump.sql`], { trunks: new RegExp(r.suggestions[0]!.value!, 'i') });
    expect([counts(declared, 0), counts(declared, 1)]).toEqual([
      { read: 9, internal: 2, inbound: 2, outbound: 3, unanswered: 2, refused: 0 },
      { read: 9, internal: 2, inbound: 2, outbound: 3, unanswered: 2, refused: 0 },
    ]);
  });

  it('Asterisk without --trunk: the OVH trunk is read as a phone, refused, and --trunk is suggested; with it, every call is placed', async () => {
    const r = await inspect([`${PBX}/asterisk-Master.csv`]);
    expect(r.files[0]).toMatchObject({ format: 'asterisk', profile: null, template: null });
    expect(counts(r)).toEqual({ read: 19, internal: 4, inbound: 0, outbound: 7, unanswered: 2, refused: 6 });
    const refused = r.files[0]!.refused;
    expect(refused.map((x) => [x.reason, x.count])).toEqual([['unknown_subscriber', 6]]);
    expect(refused[0]!.examples.map((e) => e.at)).toEqual([5, 11, 12].map((l) => `${PBX}/asterisk-Master.csv:${l}`));
    expect(refused[0]!.examples[0]!.raw.length).toBeLessThanOrEqual(160);
    expect(refused[0]!.examples[0]!.detail).toContain('no subscriber for account "ovh"');
    // "ovh" is a trunk, not a subscriber to add.
    expect(r.unknownSubscribers.entries).toEqual([]);
    expect(r.unknownSubscribers.trunks).toEqual([{ account: 'ovh', calls: 6 }]);
    expect(options(r)).toEqual([`--trunk ${ASTERISK_DEFAULT}|^PJSIP/ovh$`]);
    expect(r.destinations).toEqual([
      { class: 'fr_fixed', calls: 2 },
      { class: 'fr_mobile', calls: 2 },
      { class: 'emergency', calls: 1 },
      { class: 'fr_short', calls: 1 },
      { class: 'international', calls: 1 },
    ]);

    const fixed = await inspect([`${PBX}/asterisk-Master.csv`], { trunks: new RegExp(r.suggestions[0]!.value!, 'i') });
    expect(counts(fixed)).toEqual({ read: 19, internal: 5, inbound: 4, outbound: 8, unanswered: 2, refused: 0 });
    expect(fixed.suggestions).toEqual([]);
    expect(fixed.dialPlan.pbx).toEqual([
      {
        clientId: 'C-PME',
        extensions: [
          { range: '*97', numbers: 1, calls: 1 },
          { range: '100-199', numbers: 4, calls: 15 },
          { range: '600', numbers: 1, calls: 1 },
        ],
        outsidePrefix: null,
        calleeSent: 9,
      },
    ]);
    expect(fixed.dialPlan.yaml).toBe('pbx:\n  - client_id: C-PME\n    extensions: ["*97", "100-199", "600"]\n');
    expect(fixed.written).toBe(false);
  });

  it('FreeSWITCH with its template: counts, the template named, the 1000-1099 users and *98', async () => {
    const r = await inspect([`${PBX}/freeswitch-Master.csv`], { freeswitchTemplate: `${PBX}/freeswitch-cdr_csv.conf.xml#pbx` });
    expect(r.files[0]).toMatchObject({ format: 'freeswitch', template: `${PBX}/freeswitch-cdr_csv.conf.xml#pbx` });
    expect(counts(r)).toEqual({ read: 7, internal: 2, inbound: 1, outbound: 3, unanswered: 1, refused: 0 });
    expect(r.dialPlan.pbx.map((p) => [p.clientId, p.extensions.map((e) => e.range)])).toEqual([['C-FSW', ['*98', '1000-1099']]]);
    expect(r.suggestions).toEqual([]);
  });

  it('CUCM: directory numbers 2000-2099 and the outside prefix 0 guessed; its default trunks place every call', async () => {
    const r = await inspect([`${PBX}/cdr_NantesCluster_01_202602041000_1.txt`]);
    expect(r.files[0]!.format).toBe('cucm');
    expect(counts(r)).toEqual({ read: 10, internal: 1, inbound: 4, outbound: 4, unanswered: 1, refused: 0 });
    expect(r.dialPlan.pbx).toEqual([{ clientId: 'C-CISCO', extensions: [{ range: '2000-2099', numbers: 3, calls: 8 }], outsidePrefix: { prefix: '0', calls: 3, of: 3 }, calleeSent: 0 }]);
    expect(r.dialPlan.yaml).toBe('pbx:\n  - client_id: C-CISCO\n    extensions: ["2000-2099"]\n    outside_prefix: "0"\n');
    expect(r.suggestions).toEqual([]);
  });

  it('one --trunk for an Asterisk and a CUCM export replaces CUCM\'s default: the H.323 gateway is refused and added to the suggestion', async () => {
    const given = new RegExp(`${ASTERISK_DEFAULT}|/ovh$`, 'i');
    const files = [`${PBX}/asterisk-Master.csv`, `${PBX}/cdr_NantesCluster_01_202602041000_1.txt`];
    const r = await inspect(files, { trunks: given });
    expect(counts(r, 1)).toEqual({ read: 10, internal: 1, inbound: 3, outbound: 4, unanswered: 1, refused: 1 });
    expect(r.unknownSubscribers.entries).toEqual([]);
    expect(options(r)).toEqual([`--trunk ${given.source}|^GW-H323-NANTES$`]);
    const fixed = await inspect(files, { trunks: new RegExp(r.suggestions[0]!.value!, 'i') });
    expect(fixed.totals).toEqual({ read: 29, internal: 6, inbound: 8, outbound: 12, unanswered: 3, refused: 0 });
  });

  it('3CX through its profile: the profile named, the skipped System rows counted as refused with their reason', async () => {
    const r = await inspect([`${PBX}/3cx-call-log.csv`], { profile: loadMappingProfile('config/profiles/3cx-call-log.yaml') });
    expect(r.files[0]).toMatchObject({ format: 'profile', profile: '3cx-call-log' });
    expect(counts(r)).toEqual({ read: 7, internal: 1, inbound: 1, outbound: 3, unanswered: 0, refused: 2 });
    expect(r.files[0]!.refused.map((x) => [x.reason, x.count, x.examples.map((e) => e.at.split(':').pop())])).toEqual([['skipped_by_profile', 2, ['4', '7']]]);
    expect(r.destinations).toEqual([
      { class: 'fr_mobile', calls: 1 },
      { class: 'fr_premium', calls: 1 },
      { class: 'international', calls: 1 },
    ]);
  });

  it('several files at once: per-file counts and totals that add up', async () => {
    const r = await inspect([`${PBX}/asterisk-Master.csv`, `${PBX}/cdr_NantesCluster_01_202602041000_1.txt`]);
    expect(r.totals).toEqual({ read: 29, internal: 5, inbound: 4, outbound: 11, unanswered: 3, refused: 6 });
    expect(r.files.map((f) => f.read)).toEqual([19, 10]);
  });
});

describe('cdr inspect on a new PBX: unknown phones and an undeclared provider', () => {
  it('lists the unknown phones as subscribers.csv lines, most calls first, and suggests the Keyyo trunk', async () => {
    const r = await inspect([ONBOARDING]);
    expect(counts(r)).toEqual({ read: 12, internal: 0, inbound: 0, outbound: 1, unanswered: 1, refused: 10 });
    expect(r.files[0]!.refused.map((x) => [x.reason, x.count])).toEqual([
      ['unknown_subscriber', 9],
      ['end_before_start', 1],
    ]);
    expect(r.unknownSubscribers.header).toBe('account,client_id,site_id,user_id,plan_id,line_type,channels,automated,numbers,platform,extensions');
    expect(r.unknownSubscribers.entries.map((e) => [e.line, e.calls])).toEqual([
      ['104,<client_id>,<site_id>,<user_id>,<plan_id>,centrex_user,1,false,,,104', 4],
      ['105,<client_id>,<site_id>,<user_id>,<plan_id>,centrex_user,1,false,+33478000105,,', 2],
    ]);
    expect(options(r)).toEqual([`--trunk ${ASTERISK_DEFAULT}|^PJSIP/keyyo$`]);
  });

  it('with the suggested trunk the Keyyo calls are inbound, and only the two phones are left to declare', async () => {
    const first = await inspect([ONBOARDING]);
    const r = await inspect([ONBOARDING], { trunks: new RegExp(first.suggestions[0]!.value!, 'i') });
    expect(counts(r)).toEqual({ read: 12, internal: 0, inbound: 2, outbound: 1, unanswered: 2, refused: 7 });
    expect(r.unknownSubscribers.entries.map((e) => e.account)).toEqual(['104', '105']);
    expect(r.suggestions).toEqual([]);
  });

  it('the suggested lines, filled in, make a directory that knows the phones; left as they are, the directory refuses them', async () => {
    const first = await inspect([ONBOARDING]);
    const own = readFileSync(`${PBX}/subscribers.csv`, 'utf8');
    const unfilled = tmp('subscribers.csv', own + first.unknownSubscribers.entries.map((e) => e.line).join('\n') + '\n');
    expect(() => loadConfig('config', unfilled)).toThrow(/client_id "<client_id>" holds a character an id may not hold/);
    const filled = first.unknownSubscribers.entries.map((e, i) => e.line.replace('<client_id>', 'C-PME').replace('<site_id>', 'S-LYON').replace('<user_id>', `U-NEW${i}`).replace('<plan_id>', 'technicophone_centrex'));
    const known = loadConfig('config', tmp('subscribers.csv', own + filled.join('\n') + '\n'));
    const r = await inspectExports([ONBOARDING], { ctx: { numbering: known.numbering, sourceZone: new Zone('Europe/Paris'), directory: known.directory }, read: { trunks: new RegExp(first.suggestions[0]!.value!, 'i') } });
    expect(counts(r)).toEqual({ read: 12, internal: 1, inbound: 2, outbound: 5, unanswered: 3, refused: 1 });
    expect(r.files[0]!.refused.map((x) => x.reason)).toEqual(['end_before_start']);
    expect(r.unknownSubscribers.entries).toEqual([]);
  });

  it('with routes and notes from the reader: channels and contexts with what they were taken for, --trunk on the device (its calls are then inbound whatever their context), what reading mended', async () => {
    const inspection = new ExportInspection({ numbering: config.numbering, sourceZone: new Zone('Europe/Paris'), directory: config.directory }, {});
    await inspection.readFile(ONBOARDING, undefined, withRoutes(readExportBatches(ONBOARDING)));
    const r = inspection.report();
    const route = (name: string) => r.routes.find((x) => x.name === name);
    expect(route('PJSIP/keyyo')).toEqual({ kind: 'channel', name: 'PJSIP/keyyo', calls: 10, takenFor: { trunk: 7, phone: 3 } });
    expect(route('from-keyyo')).toEqual({ kind: 'context', name: 'from-keyyo', calls: 3, takenFor: { internal: 3 } });
    expect(r.files[0]!.notes).toEqual([{ note: 'clid: caller name decoded with replacement characters', count: 4 }]);
    expect(route('PJSIP/104')).toEqual({ kind: 'channel', name: 'PJSIP/104', calls: 4, takenFor: { phone: 4 } });
    expect(options(r)).toEqual([`--trunk ${ASTERISK_DEFAULT}|^PJSIP/keyyo$`]);
  });
});

describe('cdr inspect: times and country', () => {
  const HEADER = 'cdr_id,account,caller,callee,start_time,answer_time,end_time,billable_seconds,disposition,direction,leg,forward_reason,device';
  const call = (i: number, start: string, callee = '0612345678', account = '101') =>
    `c${i},${account},${account},${callee},${start},${start},${start.replace(/:00$/, ':30')},30,answered,out,originating,,`;

  it('office calls written in UTC (06:00-15:59 in Paris summer) suggest --tz UTC', async () => {
    const lines = Array.from({ length: 60 }, (_, i) => call(i, `2026-06-0${1 + (i % 5)}T${String(6 + (i % 10)).padStart(2, '0')}:10:00`));
    const r = await inspect([tmp('utc.csv', [HEADER, ...lines].join('\n') + '\n')]);
    expect(r.suggestions.map((s) => [s.option, s.value])).toEqual([['--tz', 'UTC']]);
    expect(r.suggestions[0]!.why).toContain('80 %');
    // The same calls read as Paris office hours (08:00-17:59) suggest nothing.
    const local = Array.from({ length: 60 }, (_, i) => call(i, `2026-06-0${1 + (i % 5)}T${String(8 + (i % 10)).padStart(2, '0')}:10:00`));
    expect((await inspect([tmp('local.csv', [HEADER, ...local].join('\n') + '\n')])).suggestions).toEqual([]);
  });

  it('a first export, every call refused as unknown_subscriber, still shows its times are UTC', async () => {
    const lines = Array.from({ length: 60 }, (_, i) => call(i, `2026-06-0${1 + (i % 5)}T${String(6 + (i % 10)).padStart(2, '0')}:10:00`, '0612345678', '3001'));
    const r = await inspect([tmp('new.csv', [HEADER, ...lines].join('\n') + '\n')]);
    expect(r.totals.refused).toBe(60);
    expect(r.unknownSubscribers.entries.map((e) => [e.line, e.calls])).toEqual([['3001,<client_id>,<site_id>,<user_id>,<plan_id>,centrex_user,1,false,,,3001', 60]]);
    expect(r.suggestions.map((s) => [s.option, s.value])).toEqual([['--tz', 'UTC']]);
  });

  it('a start time in the hour Paris skips in spring proves UTC', async () => {
    const r = await inspect([tmp('gap.csv', [HEADER, call(1, '2026-03-29T02:30:00')].join('\n') + '\n')]);
    expect(r.suggestions.map((s) => s.option)).toEqual(['--tz']);
    expect(r.suggestions[0]!.why).toContain('skips at the spring change');
  });

  it('national numbers of another country: refused as invalid_number and --country suggested', async () => {
    const lines = ['4158675309', '2129461234', '3102771234', '6174951234'].map((n, i) => call(i, `2026-02-02T1${i}:00:00`, n));
    const r = await inspect([tmp('us.csv', [HEADER, ...lines].join('\n') + '\n')]);
    expect(r.files[0]!.refused.map((x) => [x.reason, x.count])).toEqual([['invalid_number', 4]]);
    expect(r.suggestions.map((s) => [s.option, s.value])).toEqual([['--country', 'US']]);
  });
});

/** What the Asterisk reader will put in `record.route` (dcontext, channel, dstchannel), for the routes section. */
async function* withRoutes(batches: AsyncGenerator<ReadItem[]>): AsyncGenerator<ReadItem[]> {
  for await (const batch of batches) {
    for (const item of batch) {
      if (item.kind !== 'record') continue;
      const f = Papa.parse<string[]>(item.record.raw).data[0]!;
      item.record.route = { context: f[3]!, channel: f[5]!, peerChannel: f[6]! };
      if (f[4]!.startsWith('"Damien"')) item.record.notes = ['clid: caller name decoded with replacement characters'];
    }
    yield batch;
  }
}
