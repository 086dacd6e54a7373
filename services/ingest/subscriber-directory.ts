/**
 * Subscriber directory: which client, site, user and plan a SIP account, line or number belongs to.
 * Read from subscribers.csv; a bad row is a configuration error and stops the run with its line.
 */
import { readFileSync } from 'node:fs';
import Papa from 'papaparse';
import { z } from 'zod';
import { LINE_TYPES, type Subscriber } from '../core/cdr.js';
import type { NumberingPlan } from '../core/numbering.js';
import { ConfigError } from '../config/config-error.js';
import { DialPlan } from './dial-plan.js';

export const SUBSCRIBER_COLUMNS = ['account', 'client_id', 'site_id', 'user_id', 'plan_id', 'line_type', 'channels', 'automated', 'numbers'] as const;
/**
 * Optional columns: `platform` declares a line used for exchanges with a technical platform (R-CLI-PLATFORM);
 * `extensions` the subscriber's extensions on its PBX (`1001`, `;`-separated), which make calls to them internal.
 */
export const OPTIONAL_SUBSCRIBER_COLUMNS = ['platform', 'extensions'] as const;

/**
 * The characters an id may hold (README "Subscriber directory"): ids travel into every output file,
 * the store and the alerts, so none may start like a spreadsheet formula, hold a control character,
 * a delimiter (`,`, `;`, `|`) or a quote. Accounts take `+` too, also first: SIP accounts are often
 * the line's E.164 number. Letters are any script's; at most 128 characters.
 */
export const ACCOUNT_ID = /^[\p{L}\p{N}+][\p{L}\p{N}._@:+\-/]{0,127}$/u;
export const OTHER_ID = /^[\p{L}\p{N}][\p{L}\p{N}._@:\-/]{0,127}$/u;
const ID_HELP = "letters, digits and . _ @ : - / (accounts also +), starting with a letter or a digit (an account may start with +), at most 128 characters";

const id = (name: string, pattern: RegExp) =>
  z
    .string()
    .min(1, `${name} is empty`)
    .superRefine((v, ctx) => {
      if (v !== '' && !pattern.test(v)) ctx.addIssue({ code: 'custom', message: `${name} "${shown(v)}" holds a character an id may not hold: use ${ID_HELP}` });
    });

/** The offending value, with control characters made visible and cut to a readable length. */
function shown(v: string): string {
  const visible = v.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return visible.length > 60 ? `${visible.slice(0, 60)}…` : visible;
}

const rowSchema = z.object({
  account: id('account', ACCOUNT_ID),
  client_id: id('client_id', OTHER_ID),
  site_id: id('site_id', OTHER_ID),
  user_id: id('user_id', OTHER_ID),
  plan_id: id('plan_id', OTHER_ID),
  line_type: z.enum(LINE_TYPES),
  channels: z.string().regex(/^[1-9]\d*$/, 'channels must be a whole number ≥ 1').transform(Number),
  automated: z.enum(['true', 'false', '']).transform((v) => v === 'true'),
  numbers: z.string().default(''),
  platform: z.enum(['true', 'false', '']).default('').transform((v) => v === 'true'),
  extensions: z
    .string()
    .default('')
    .transform((v) => (v === '' ? [] : v.split(/[;|]/).map((e) => e.trim())))
    .refine((l) => l.every((e) => /^[*#]?\d{1,8}$/.test(e)), 'extensions are digits (an optional * or # first), separated by ";", e.g. 1001;1002'),
});

export class SubscriberDirectory {
  private readonly byAccount = new Map<string, Subscriber>();
  private readonly byNumber = new Map<string, Subscriber>();
  private readonly clientNumbers = new Map<string, ReadonlySet<string>>();
  private readonly clientExtensions = new Map<string, Set<string>>();
  /** Extensions given to exactly one subscriber: a CUCM directory number, a FreeSWITCH user. */
  private readonly byUniqueExtension = new Map<string, Subscriber>();
  /** Extension ranges and outside-line prefix of each PBX (config/dial-plan.yaml). */
  dialPlan: DialPlan = DialPlan.NONE;

  constructor(
    subscribers: Iterable<Subscriber>,
    private readonly platformAccounts: ReadonlySet<string> = new Set(),
    extensions: ReadonlyMap<string, readonly string[]> = new Map(),
  ) {
    const sharedExtensions = new Set<string>();
    for (const s of subscribers) {
      this.byAccount.set(s.account, s);
      for (const n of s.numbers) this.byNumber.set(n, s);
      for (const e of extensions.get(s.account) ?? []) {
        let set = this.clientExtensions.get(s.clientId);
        if (set === undefined) this.clientExtensions.set(s.clientId, (set = new Set()));
        set.add(e);
        if (sharedExtensions.has(e)) continue;
        if (this.byUniqueExtension.has(e)) {
          this.byUniqueExtension.delete(e);
          sharedExtensions.add(e);
        } else this.byUniqueExtension.set(e, s);
      }
    }
  }

  /** Whether `dialled` is an extension that the directory gives to one of the client's subscribers. */
  isExtensionOfClient(clientId: string, dialled: string): boolean {
    return this.clientExtensions.get(clientId)?.has(dialled) ?? false;
  }

  /**
   * By account first; a CDR without an account (or with an unknown one) is matched on its caller number,
   * then on an extension (`extensions` column) that only one subscriber of the directory has.
   */
  resolve(account: string, callerE164: string): Subscriber | undefined {
    return this.byAccount.get(account) ?? this.resolveOtherwise(account, callerE164);
  }

  /** The subscriber of `account` itself: what `resolve` finds first, without the caller number it may not need. */
  ofAccount(account: string): Subscriber | undefined {
    return this.byAccount.get(account);
  }

  /** `resolve` for an account that is not a subscriber's own. */
  private resolveOtherwise(account: string, callerE164: string): Subscriber | undefined {
    return (
      (callerE164 === '' ? undefined : this.byNumber.get(callerE164)) ??
      this.byUniqueExtension.get(account) ??
      this.byUniqueExtension.get(callerE164.replace(/^ext:/, ''))
    );
  }

  /** Every number of a client's lines: what it may present as caller ID without further consent. */
  numbersOfClient(clientId: string): ReadonlySet<string> {
    let numbers = this.clientNumbers.get(clientId);
    if (numbers === undefined) {
      numbers = new Set(this.all.filter((s) => s.clientId === clientId).flatMap((s) => s.numbers));
      this.clientNumbers.set(clientId, numbers);
    }
    return numbers;
  }

  /** Declared as a technical platform's line: it must present 0937, 0938 or 09390–09394 numbers. */
  isPlatform(account: string): boolean {
    return this.platformAccounts.has(account);
  }

  get all(): Subscriber[] {
    return [...this.byAccount.values()];
  }

  /** Users of a site (or of the whole client), counted once each: the Orange pool grants 500 minutes per user. */
  usersOf(clientId: string, siteId: string | null): number {
    const users = new Set<string>();
    for (const s of this.byAccount.values()) if (s.clientId === clientId && (siteId === null || s.siteId === siteId)) users.add(s.userId);
    return users.size;
  }

  static load(path: string, numbering: NumberingPlan): SubscriberDirectory {
    const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
    const parsed = Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: 'greedy', transform: (v) => v.trim() });
    if (parsed.errors.length > 0) {
      const e = parsed.errors[0]!;
      throw new ConfigError(path, `line ${(e.row ?? 0) + 2}`, e.message);
    }
    const header = parsed.meta.fields ?? [];
    const missing = SUBSCRIBER_COLUMNS.filter((c) => !header.includes(c));
    if (missing.length > 0) throw new ConfigError(path, 'header', `missing column(s) ${missing.join(', ')}; expected ${SUBSCRIBER_COLUMNS.join(',')}`);
    const subscribers: Subscriber[] = [];
    const platforms = new Set<string>();
    const extensions = new Map<string, string[]>();
    const seen = new Set<string>();
    parsed.data.forEach((row, i) => {
      const where = `line ${i + 2}`;
      const r = rowSchema.safeParse(row);
      if (!r.success) {
        const issue = r.error.issues[0]!;
        throw new ConfigError(path, `${where}, field ${issue.path.join('.')}`, issue.message);
      }
      const v = r.data;
      if (seen.has(v.account)) throw new ConfigError(path, `${where}, field account`, `account "${v.account}" is listed twice`);
      seen.add(v.account);
      if (v.platform) platforms.add(v.account);
      if (v.extensions.length > 0) extensions.set(v.account, v.extensions);
      const numbers = v.numbers === '' ? [] : v.numbers.split(/[;|]/).map((n) => {
        try {
          return numbering.normalize(n);
        } catch (err) {
          throw new ConfigError(
            path,
            `${where}, field numbers`,
            `"${n}" is not a phone number (${(err as Error).message}); write a French number nationally (0145…) and any other in E.164 (+14155550100); a SIP peer name, a login or an extension goes in account or extensions, not in numbers`,
          );
        }
      });
      subscribers.push({
        account: v.account,
        clientId: v.client_id,
        siteId: v.site_id,
        userId: v.user_id,
        planId: v.plan_id,
        lineType: v.line_type,
        channels: v.channels,
        automated: v.automated,
        numbers,
      });
    });
    return new SubscriberDirectory(subscribers, platforms, extensions);
  }
}
