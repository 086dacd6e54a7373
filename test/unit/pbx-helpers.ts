/** Shared by the PBX export tests: the PBX fixtures' configuration, reading, normalising and rating. */
import { loadConfig } from '../../services/config/load-config.js';
import { Zone } from '../../services/core/calendar.js';
import { CdrPipeline } from '../../services/core/cdr-pipeline.js';
import type { Cdr } from '../../services/core/cdr.js';
import { normalizeRecord, type NormalizeContext } from '../../services/ingest/normalize.js';
import type { ReadItem, Reject, SourceRecord } from '../../services/ingest/source-record.js';

export const PBX = 'test/fixtures/switch-exports/pbx';
export const PBX_TRUNKS = /^(PJSIP\/ovh|SIP\/ovh|DAHDI\/)/i;

export const config = loadConfig('config', `${PBX}/subscribers.csv`);
export const ctx: NormalizeContext = { numbering: config.numbering, sourceZone: new Zone('Europe/Paris'), directory: config.directory };

export async function collect(items: AsyncGenerator<ReadItem>): Promise<{ records: SourceRecord[]; rejects: Reject[] }> {
  const records: SourceRecord[] = [];
  const rejects: Reject[] = [];
  for await (const item of items) {
    if (item.kind === 'record') records.push(item.record);
    else rejects.push(item.reject);
  }
  return { records, rejects };
}

export function normalizeAll(records: SourceRecord[]): { cdrs: Cdr[]; rejects: Reject[] } {
  const cdrs: Cdr[] = [];
  const rejects: Reject[] = [];
  for (const r of records) {
    const n = normalizeRecord(r, ctx);
    if (n.ok) cdrs.push(n.cdr);
    else rejects.push(n.reject);
  }
  return { cdrs, rejects };
}

/** What a user reads on a rated line: the phone charged, who called, what was dialled (as billed), leg, outcome. */
export const line = (c: Cdr): string =>
  [c.line, c.subscriber.account, c.caller, c.callee, config.numbering.classify(c.callee).cls, c.direction, c.leg, c.disposition, c.billableSeconds].join(' | ');

/** Rates CDRs through both stages and returns the bill line by line, and the alerts. */
export function rate(cdrs: Cdr[]): { bill: string[]; alerts: string[] } {
  const pipeline = new CdrPipeline({
    plans: config.plans,
    numbering: config.numbering,
    fraud: config.fraud,
    zone: new Zone('Europe/Paris'),
    usersOf: (c, s) => config.directory.usersOf(c, s),
    numbersOf: (c) => config.directory.numbersOfClient(c),
    isPlatform: (a) => config.directory.isPlatform(a),
  });
  for (const c of [...cdrs].sort((a, b) => a.startMs - b.startMs)) pipeline.process(c);
  const { changes, alerts } = pipeline.drain();
  return {
    bill: changes.map((c) => `${c.call.cdr.line} | ${c.call.callee} | ${c.call.reason} | ${c.call.amount.toFixed(4)}`).sort((a, b) => parseInt(a) - parseInt(b)),
    alerts: alerts.map((a) => `${a.rule}: ${a.message}`),
  };
}

