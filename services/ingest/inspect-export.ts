/**
 * `cdr inspect`: what the project would make of a PBX's exports, before a first bill, and nothing written.
 * Each file is read and normalised exactly as `cdr rate` does (readExportBatches + normalizeRecord), and
 * every record is counted once: internal, inbound, outbound (answered), unanswered or refused (by reason,
 * with a few examples). Beside the counts, bounded tallies (inspect-tallies.ts) gather what an operator
 * fills in before rating: the accounts and numbers the directory does not know as `subscribers.csv`
 * lines, the routes seen, the extension ranges and outside-line prefix as a `dial-plan.yaml` snippet,
 * and the options to add (inspect-suggestions.ts). Memory holds counts and top-N maps, never the records.
 *
 * The report's shape is `cdr inspect --json`'s (version 1, README "Onboarding a PBX").
 */
import { INTERNAL_PREFIX, isInternalParty } from '../core/internal-party.js';
import type { DestinationClass } from '../core/numbering.js';
import type { Progress } from '../embedded/progress.js';
import { DEFAULT_COUNTRY, toE164 } from './dialled-number.js';
import { normalizeRecord, type NormalizeContext, type Normalized } from './normalize.js';
import { detectFormat, readExportBatches, readFirstLines, SNIFF_LINES, type ExportFormat, type ReadExportOptions } from './readers/detect-format.js';
import { isDirectory } from './readers/export-directory.js';
import { loadFreeswitchTemplate } from './readers/freeswitch-csv.js';
import { BoundedTally, PbxEvidence, routeName, TopCounts, UnknownParty } from './inspect-tallies.js';
import { CountryEvidence, TimeEvidence, trunkSuggestions, type OptionSuggestion, type TrunkEvidence } from './inspect-suggestions.js';
import type { ReadItem, Reject, RejectReason, SourceRecord } from './source-record.js';
import { OPTIONAL_SUBSCRIBER_COLUMNS, SUBSCRIBER_COLUMNS } from './subscriber-directory.js';

export type { OptionSuggestion } from './inspect-suggestions.js';

/** What a record was taken for; the five add up to the records read. */
export const CALL_KINDS = ['internal', 'inbound', 'outbound', 'unanswered', 'refused'] as const;
export type CallKind = (typeof CALL_KINDS)[number];
export type CallCounts = Record<CallKind, number>;

export interface InspectReport {
  version: 1;
  files: FileInspection[];
  totals: { read: number } & CallCounts;
  /** Accounts and numbers of `unknown_subscriber` rejects that are not trunks, most calls first. */
  unknownSubscribers: { header: string; entries: UnknownSubscriber[]; more: number; trunks: { account: string; calls: number }[] };
  /** Contexts, channels and trunks the readers named (`record.route`), most calls first. */
  routes: RouteSeen[];
  dialPlan: { pbx: PbxGuess[]; yaml: string };
  /** Answered outbound calls by destination class of the numbering plan. */
  destinations: { class: DestinationClass; calls: number }[];
  suggestions: OptionSuggestion[];
  written: false;
}

export interface FileInspection {
  path: string;
  /** null: no reader recognised the file (one `unknown_format` refusal). */
  format: ExportFormat | null;
  profile: string | null;
  template: string | null;
  read: number;
  calls: CallCounts;
  refused: { reason: RejectReason; count: number; examples: RejectExample[] }[];
  /** What reading had to mend without refusing a call (`record.notes`), most frequent first. */
  notes: { note: string; count: number }[];
}

export interface RejectExample {
  at: string;
  /** The record as read, cut to 160 characters. */
  raw: string;
  detail: string;
}

export interface UnknownSubscriber {
  account: string;
  numbers: string[];
  extensions: string[];
  calls: number;
  /** A ready-to-edit subscribers.csv line: client, site, user and plan are placeholders. */
  line: string;
}

export interface RouteSeen {
  kind: 'context' | 'channel' | 'trunk';
  name: string;
  calls: number;
  /** Contexts: inbound / outbound / internal; channels: trunk / phone; trunks: trunk. */
  takenFor: Record<string, number>;
}

export interface PbxGuess {
  /** The client of the calls' subscribers; '' for calls of accounts the directory does not know. */
  clientId: string;
  extensions: { range: string; numbers: number; calls: number }[];
  outsidePrefix: { prefix: string; calls: number; of: number } | null;
  /** Outbound calls whose number is the one the trunk was given: no prefix to take off. */
  calleeSent: number;
}

export interface InspectOptions {
  ctx: NormalizeContext;
  read: ReadExportOptions;
  progress?: Progress;
}

export async function inspectExports(files: string[], opts: InspectOptions): Promise<InspectReport> {
  const inspection = new ExportInspection(opts.ctx, opts.read);
  opts.progress?.start(files.length);
  for (const [i, path] of files.entries()) {
    opts.progress?.file(i + 1, path);
    await inspection.readFile(path, () => opts.progress?.update(inspection.read, inspection.usable));
  }
  opts.progress?.stop();
  return inspection.report();
}

const EXAMPLES = 3;
const RAW_SHOWN = 160;
const SHORT_NUMBER = /^[*#]?\d{2,6}$/;
const PLACEHOLDERS = { client_id: '<client_id>', site_id: '<site_id>', user_id: '<user_id>', plan_id: '<plan_id>' };

/** The accumulator: fed file by file, item by item. */
export class ExportInspection {
  read = 0;
  usable = 0;
  private readonly files: FileInspection[] = [];
  private readonly unknown = new BoundedTally<UnknownParty>(5000, () => new UnknownParty());
  private readonly routes = new BoundedTally<{ kind: RouteSeen['kind']; name: string; calls: number; takenFor: TopCounts }>(1000, () => ({ kind: 'channel', name: '', calls: 0, takenFor: new TopCounts(4) }));
  private readonly pbx = new BoundedTally<PbxEvidence>(500, () => new PbxEvidence());
  private readonly destinations = new Map<DestinationClass, number>();
  private readonly time: TimeEvidence;
  private readonly country: CountryEvidence;
  private readonly countryCode: string;

  constructor(
    private readonly ctx: NormalizeContext,
    private readonly options: ReadExportOptions,
  ) {
    this.time = new TimeEvidence(ctx.sourceZone);
    this.countryCode = options.country ?? DEFAULT_COUNTRY;
    this.country = new CountryEvidence(this.countryCode);
  }

  /** `batches`: the items to inspect instead of the file's own (a test standing in for a reader). */
  async readFile(path: string, onBatch: () => void = () => {}, batches?: AsyncIterable<ReadItem[]>): Promise<void> {
    const file = await this.describe(path);
    this.files.push(file);
    const refused = new Map<RejectReason, FileInspection['refused'][number]>();
    const notes = new TopCounts(100);
    const refuse = (r: Reject): void => {
      file.calls.refused++;
      let entry = refused.get(r.reason);
      if (entry === undefined) refused.set(r.reason, (entry = { reason: r.reason, count: 0, examples: [] }));
      entry.count++;
      if (entry.examples.length < EXAMPLES) entry.examples.push({ at: `${r.source}:${r.line}`, raw: cut(r.rawEncoding === 'base64' ? `(base64) ${r.raw}` : r.raw), detail: r.detail });
    };
    for await (const batch of batches ?? readExportBatches(path, { ...this.options, limits: this.ctx.limits })) {
      for (const item of batch) {
        file.read++;
        this.read++;
        if (item.kind === 'reject') {
          refuse(item.reject);
          continue;
        }
        if (item.record.notes !== undefined) for (const note of item.record.notes) notes.add(note);
        const n = normalizeRecord(item.record, this.ctx);
        const kind = this.observe(item.record, n, file.format);
        if (n.ok) {
          this.usable++;
          file.calls[kind]++;
        } else refuse(n.reject);
      }
      onBatch();
    }
    file.refused = [...refused.values()].sort((a, b) => b.count - a.count);
    file.notes = notes.top(20).map((n) => ({ note: n.value, count: n.count }));
  }

  /** The format the reader will use, as detection sees it (the same sniffing as readExport's). */
  private async describe(path: string): Promise<FileInspection> {
    const template = this.options.freeswitchTemplate === undefined ? undefined : loadFreeswitchTemplate(this.options.freeswitchTemplate);
    let format = this.options.format ?? null;
    if (format === null && isDirectory(path)) format = 'freeswitch-doc'; // a log-dir of CDR documents, as readExport reads it
    if (format === null) {
      const first = await readFirstLines(path, SNIFF_LINES, this.ctx.limits?.maxLineBytes).catch(() => []);
      format = detectFormat(path, first, { freeswitchTemplate: template, profile: this.options.profile });
    }
    return {
      path,
      format,
      profile: format === 'profile' ? (this.options.profile?.name ?? null) : null,
      template: format === 'freeswitch' ? (template?.name ?? 'FreeSWITCH example template') : null,
      read: 0,
      calls: { internal: 0, inbound: 0, outbound: 0, unanswered: 0, refused: 0 },
      refused: [],
      notes: [],
    };
  }

  /** Feeds the tallies; returns what an accepted record was taken for. */
  private observe(r: SourceRecord, n: Normalized, format: ExportFormat | null): CallKind {
    const direction = r.direction.toLowerCase();
    const inbound = n.ok ? n.cdr.direction === 'in' : direction === 'in';
    const internal = n.ok ? isInternalParty(n.cdr.callee) : r.internal === true || direction === 'internal';
    const way = inbound ? 'inbound' : internal ? 'internal' : 'outbound';
    const kind: CallKind = n.ok && n.cdr.disposition !== 'answered' ? 'unanswered' : way;
    if (n.ok && kind === 'outbound') {
      const cls = this.ctx.numbering.classify(n.cdr.callee).cls;
      this.destinations.set(cls, (this.destinations.get(cls) ?? 0) + 1);
    }
    // A first export is mostly refused as unknown_subscriber, the last check: its times were read, they count.
    if (n.ok || n.reject.reason === 'unknown_subscriber') this.time.observe(r.start);
    this.observeRoute(r, way);

    const caller = digitsOf(r.caller);
    // A refused call tells about the PBX only if a phone made it: a trunk read as a phone presents outside numbers.
    const pbx = n.ok || SHORT_NUMBER.test(caller) ? this.pbx.at(n.ok ? n.cdr.subscriber.clientId : '') : undefined;
    if (pbx !== undefined && !inbound) {
      if (SHORT_NUMBER.test(caller) && r.callerInside !== false) pbx.extension(caller);
      const callee = n.ok ? (internal ? n.cdr.callee.slice(INTERNAL_PREFIX.length) : '') : internal ? digitsOf(r.callee) : '';
      if (SHORT_NUMBER.test(callee)) pbx.extension(callee);
      if (!internal && r.calleeSent === true) pbx.calleeSent++;
      else if (!internal) pbx.dialled(digitsOf(r.callee), this.countryCode);
    }
    if (n.ok && n.cdr.caller !== '' && !n.cdr.caller.startsWith('+') && !isInternalParty(n.cdr.caller) && /^\d{7,}$/.test(n.cdr.caller)) this.country.observe(n.cdr.caller);
    if (!n.ok && n.reject.reason === 'invalid_number') this.country.observe(digitsOf(inbound ? r.caller : r.callee));
    if (!n.ok && n.reject.reason === 'unknown_subscriber') this.observeUnknown(r, inbound, format);
    return kind;
  }

  private observeRoute(r: SourceRecord, way: 'inbound' | 'internal' | 'outbound'): void {
    const route = r.route;
    if (route === undefined) return;
    const seen = (kind: RouteSeen['kind'], name: string | undefined, takenFor: string): void => {
      if (name === undefined || name === '') return;
      const entry = this.routes.at(`${kind}|${name}`);
      if (entry === undefined) return;
      entry.kind = kind;
      entry.name = name;
      entry.calls++;
      entry.takenFor.add(takenFor);
    };
    seen('context', route.context, way);
    seen('channel', route.channel === undefined ? undefined : routeName(route.channel), way === 'inbound' ? 'trunk' : 'phone');
    seen('channel', route.peerChannel === undefined ? undefined : routeName(route.peerChannel), way === 'outbound' ? 'trunk' : 'phone');
    seen('trunk', route.trunk, 'trunk');
  }

  private observeUnknown(r: SourceRecord, inbound: boolean, format: ExportFormat | null): void {
    const number = publicNumber(inbound ? r.callee : r.caller, r.country ?? DEFAULT_COUNTRY, this.ctx);
    const key = r.account !== '' ? r.account : number !== '' ? `#${number}` : '';
    if (key === '') return;
    const party = this.unknown.at(key);
    if (party === undefined) return;
    party.calls++;
    if (inbound) party.inbound++;
    else party.outbound++;
    if (number !== '') party.numbers.add(number);
    const caller = digitsOf(r.caller);
    if (!inbound && SHORT_NUMBER.test(caller)) party.extensions.add(caller);
    if (r.route?.channel !== undefined && !inbound) party.channels.add(routeName(r.route.channel));
    if (r.route?.context !== undefined) party.contexts.add(r.route.context);
    if (format !== null) party.formats.add(format);
  }

  report(): InspectReport {
    const totals = { read: this.read, internal: 0, inbound: 0, outbound: 0, unanswered: 0, refused: 0 };
    for (const f of this.files) for (const k of CALL_KINDS) totals[k] += f.calls[k];
    const parties = this.unknown.entries().sort((a, b) => b[1].calls - a[1].calls || (a[0] < b[0] ? -1 : 1));
    const trunks: TrunkEvidence[] = [];
    const entries: UnknownSubscriber[] = [];
    for (const [key, p] of parties) {
      const account = key.startsWith('#') ? '' : key;
      if (p.looksLikeTrunk(account)) {
        trunks.push({ name: account, device: p.channels.top(1)[0]?.value, contexts: p.contexts.top().map((c) => c.value), calls: p.calls, formats: [...p.formats] });
        continue;
      }
      const numbers = p.numbers.top(3).map((n) => n.value);
      const extensions = p.extensions.top(3).map((n) => n.value);
      entries.push({ account, numbers, extensions, calls: p.calls, line: subscriberLine(account, numbers, extensions) });
    }
    const formats = [...new Set(this.files.map((f) => f.format).filter((f): f is ExportFormat => f !== null))];
    const suggestions = [...trunkSuggestions(trunks, this.options), this.time.suggestion(formats), this.country.suggestion()].filter((s): s is OptionSuggestion => s !== null);
    const pbx = this.pbxGuesses();
    return {
      version: 1,
      files: this.files,
      totals,
      unknownSubscribers: { header: SUBSCRIBER_HEADER, entries, more: this.unknown.dropped, trunks: trunks.map((t) => ({ account: t.name, calls: t.calls })) },
      routes: this.routes
        .entries()
        .map(([, e]) => ({ kind: e.kind, name: e.name, calls: e.calls, takenFor: Object.fromEntries(e.takenFor.top().map((t) => [t.value, t.count])) }))
        .sort((a, b) => b.calls - a.calls || (a.name < b.name ? -1 : 1)),
      dialPlan: { pbx, yaml: dialPlanYaml(pbx) },
      destinations: [...this.destinations.entries()].map(([cls, calls]) => ({ class: cls, calls })).sort((a, b) => b.calls - a.calls || (a.class < b.class ? -1 : 1)),
      suggestions,
      written: false,
    };
  }

  private pbxGuesses(): PbxGuess[] {
    return this.pbx
      .entries()
      .map(([clientId, e]) => ({
        clientId,
        extensions: e.ranges
          .entries()
          // A block with one number seen is that number: 600 is the ring group, not 600-699.
          .map(([range, r]) => ({ range: r.members.size === 1 ? [...r.members][0]! : range, numbers: r.members.size, calls: r.calls }))
          .sort((a, b) => (a.range < b.range ? -1 : 1)),
        outsidePrefix: e.outsidePrefix(this.countryCode),
        calleeSent: e.calleeSent,
      }))
      .filter((p) => p.extensions.length > 0 || p.outsidePrefix !== null)
      .sort((a, b) => (a.clientId < b.clientId ? -1 : 1));
  }
}

export const SUBSCRIBER_HEADER = [...SUBSCRIBER_COLUMNS, ...OPTIONAL_SUBSCRIBER_COLUMNS].join(',');

/** A subscribers.csv line in SUBSCRIBER_HEADER's order: a single-user line until the operator says otherwise. */
function subscriberLine(account: string, numbers: string[], extensions: string[]): string {
  const row: Record<string, string> = {
    account: account === '' ? '<account>' : account,
    ...PLACEHOLDERS,
    line_type: 'centrex_user',
    channels: '1',
    automated: 'false',
    numbers: numbers.join(';'),
    platform: '',
    extensions: extensions.filter((e) => /^[*#]?\d{1,8}$/.test(e)).join(';'),
  };
  return SUBSCRIBER_HEADER.split(',').map((c) => row[c] ?? '').join(',');
}

function dialPlanYaml(pbx: PbxGuess[]): string {
  if (pbx.length === 0) return '';
  const lines = ['pbx:'];
  for (const p of pbx) {
    lines.push(`  - client_id: ${p.clientId === '' ? '<client_id>' : p.clientId}`);
    lines.push(`    extensions: [${p.extensions.map((e) => JSON.stringify(e.range)).join(', ')}]`);
    if (p.outsidePrefix !== null) lines.push(`    outside_prefix: "${p.outsidePrefix.prefix}"`);
  }
  return lines.join('\n') + '\n';
}

function cut(text: string): string {
  return text.length > RAW_SHOWN ? `${text.slice(0, RAW_SHOWN - 1)}…` : text;
}

function digitsOf(text: string): string {
  return text.replace(/[\s.\-()/]/g, '');
}

/** The number in E.164 when it is a public one; '' for an extension or something that is not a number. */
function publicNumber(text: string, country: string, ctx: NormalizeContext): string {
  const digits = digitsOf(text);
  if (digits.length < 7) return '';
  try {
    const e164 = toE164(digits, country, ctx.numbering);
    return e164.startsWith('+') ? e164 : '';
  } catch {
    return '';
  }
}
