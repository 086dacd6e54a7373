/**
 * The customer PBX's dial plan, as far as billing needs it: which numbers are extensions (phones, ring
 * groups, queues, voicemail…) and which prefix takes an outside line. Read from `dial-plan.yaml` in the
 * configuration directory, per client and optionally per site; absent, nothing is an extension unless the
 * export itself says so, and no prefix is stripped.
 *
 * Why it matters: `112` is an emergency number on the network and extension 112 on a PBX whose phones are
 * numbered 100–199. On a PBX that needs `0` for an outside line, `00612345678` is the mobile 0612345678
 * and a number dialled without the `0` never left the PBX (emergency numbers aside, which PBXs route out
 * without a prefix).
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { loadYamlFile } from '../config/yaml-file.js';

const range = z
  .string()
  .trim()
  .regex(/^([*#]?\d+|\d+-\d+)$/, 'an extension range is "100-199", or one extension such as "600" or "*97"')
  .refine((r) => {
    const m = /^(\d+)-(\d+)$/.exec(r);
    return m === null || (m[1]!.length === m[2]!.length && Number(m[1]) <= Number(m[2]));
  }, 'a range is written low-high with as many digits on each side, e.g. "1000-1999"');

const pbxSchema = z
  .object({
    /** Extension ranges: `100-199`, or single ones such as `600` or `*97`. */
    extensions: z.array(range).default([]),
    /** Digits dialled before an outside number (`0` in France, `9` in North America); empty: none. */
    outside_prefix: z.string().regex(/^\d{0,2}$/, 'outside_prefix is at most two digits, e.g. "0" or "9"').default(''),
  })
  .strict();

export const dialPlanSchema = z
  .object({
    /** Every PBX not listed under `pbx`. */
    default: pbxSchema.default({ extensions: [], outside_prefix: '' }),
    pbx: z
      .array(pbxSchema.extend({ client_id: z.string().min(1, 'client_id is empty'), site_id: z.string().min(1).optional() }).strict())
      .default([]),
  })
  .strict();

export type DialPlanConfig = z.infer<typeof dialPlanSchema>;

/** Module-level: a regex literal in a function is a new RegExp each time it runs (isExtension runs twice a call). */
const DIGITS = /^\d+$/;

/** The dial plan of one PBX. */
export class PbxDialPlan {
  private readonly singles = new Set<string>();
  private readonly ranges: { low: number; high: number; digits: number }[] = [];

  constructor(
    extensions: readonly string[],
    readonly outsidePrefix: string,
  ) {
    for (const r of extensions) {
      const m = /^(\d+)-(\d+)$/.exec(r);
      if (m) this.ranges.push({ low: Number(m[1]), high: Number(m[2]), digits: m[1]!.length });
      else this.singles.add(r);
    }
  }

  /** Whether `dialled` (as the user typed it) is one of the PBX's extensions. */
  isExtension(dialled: string): boolean {
    if (this.singles.has(dialled)) return true;
    if (!DIGITS.test(dialled)) return false;
    const n = Number(dialled);
    return this.ranges.some((r) => r.digits === dialled.length && n >= r.low && n <= r.high);
  }

  get declared(): boolean {
    return this.outsidePrefix !== '' || this.singles.size > 0 || this.ranges.length > 0;
  }
}

export class DialPlan {
  private readonly fallback: PbxDialPlan;
  private readonly bySite = new Map<string, PbxDialPlan>();
  private readonly byClient = new Map<string, PbxDialPlan>();

  constructor(config: DialPlanConfig = { default: { extensions: [], outside_prefix: '' }, pbx: [] }) {
    this.fallback = new PbxDialPlan(config.default.extensions, config.default.outside_prefix);
    for (const p of config.pbx) {
      const plan = new PbxDialPlan(p.extensions, p.outside_prefix);
      if (p.site_id === undefined) this.byClient.set(p.client_id, plan);
      else this.bySite.set(`${p.client_id}/${p.site_id}`, plan);
    }
  }

  /** The site's own entry, else the client's, else the default. */
  of(clientId: string, siteId: string): PbxDialPlan {
    // Asked twice per call: most configurations declare no site, and then no key is built.
    const site = this.bySite.size === 0 ? undefined : this.bySite.get(`${clientId}/${siteId}`);
    return site ?? (this.byClient.size === 0 ? undefined : this.byClient.get(clientId)) ?? this.fallback;
  }

  static readonly NONE = new DialPlan();

  /** `dial-plan.yaml` if the file exists; a bad one is a configuration error that names its field. */
  static loadIfPresent(path: string): DialPlan {
    return existsSync(path) ? new DialPlan(loadYamlFile(path, dialPlanSchema)) : DialPlan.NONE;
  }
}
