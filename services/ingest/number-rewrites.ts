/**
 * Number rewriting: the technical prefixes carriers and switches put on numbers, taken off before a
 * number is read. A wholesale SIP carrier takes a call as `42331550*13865062124` (a routing code, a
 * star, the number) or `4711#0612345678`; a PBX may prefix its trunk's calls with a route code. No
 * reader can know these: they are the operator's, written as data in `number-rewrites.yaml` (beside
 * the subscribers file, else in the configuration directory), validated on load:
 *
 * ```yaml
 * rewrites:
 *   - id: carrier-routing-code          # named in the record's notes and by cdr inspect
 *     match: '^\d{8}\*(\d+)$'           # a regular expression on the number as the export wrote it
 *     replace: '$1'                     # what it becomes ($1… are the groups)
 *     field: callee                     # callee (default), caller, or both
 *     trunk: '^sofia/gateway/carrier'   # optional: only calls through a matching trunk or gateway
 *     context: '^from-carrier$'         # optional: only calls in a matching dialplan context
 *     source: 'carrier-.*\.csv$'        # optional: only records of matching files
 * ```
 *
 * Rules are tried in order; the first that matches a field rewrites it, once. The normaliser applies
 * them before it reads the numbers, so every format gets them, and the record keeps a note of it.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { loadYamlFile } from '../config/yaml-file.js';
import type { SourceRecord } from './source-record.js';

const regex = (what: string) =>
  z.string().min(1).superRefine((source, ctx) => {
    try {
      new RegExp(source);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `${what} "${source}" is not a regular expression (${(e as Error).message})` });
    }
  });

const ruleSchema = z
  .object({
    id: z.string().regex(/^[\w.-]+$/, 'id is a word (letters, digits, . _ -), e.g. carrier-routing-code'),
    match: regex('match'),
    replace: z.string(),
    field: z.enum(['callee', 'caller', 'both']).default('callee'),
    trunk: regex('trunk').optional(),
    context: regex('context').optional(),
    source: regex('source').optional(),
  })
  .strict();

export const numberRewritesSchema = z.object({ rewrites: z.array(ruleSchema).default([]) }).strict();

interface Rule {
  id: string;
  match: RegExp;
  replace: string;
  fields: readonly ('callee' | 'caller')[];
  trunk: RegExp | null;
  context: RegExp | null;
  source: RegExp | null;
}

export class NumberRewrites {
  private readonly rules: Rule[];

  constructor(config: z.infer<typeof numberRewritesSchema> = { rewrites: [] }) {
    this.rules = config.rewrites.map((r) => ({
      id: r.id,
      match: new RegExp(r.match),
      replace: r.replace,
      fields: r.field === 'both' ? ['callee', 'caller'] : [r.field],
      trunk: r.trunk === undefined ? null : new RegExp(r.trunk, 'i'),
      context: r.context === undefined ? null : new RegExp(r.context),
      source: r.source === undefined ? null : new RegExp(r.source),
    }));
  }

  static readonly NONE = new NumberRewrites();

  static loadIfPresent(path: string): NumberRewrites {
    return existsSync(path) ? new NumberRewrites(loadYamlFile(path, numberRewritesSchema)) : NumberRewrites.NONE;
  }

  get size(): number {
    return this.rules.length;
  }

  /** The record with its numbers rewritten by the first rule that applies to each (the same object when none does). */
  apply(r: SourceRecord): SourceRecord {
    if (this.rules.length === 0) return r;
    let out = r;
    for (const field of ['callee', 'caller'] as const) {
      const value = r[field];
      if (value === '') continue;
      const rule = this.rules.find((x) => x.fields.includes(field) && x.match.test(value) && this.scoped(x, r));
      if (rule === undefined) continue;
      const rewritten = value.replace(rule.match, rule.replace);
      out = { ...out, [field]: rewritten, notes: [...(out.notes ?? []), `${field} rewritten by ${rule.id}: ${value} → ${rewritten}`] };
    }
    return out;
  }

  private scoped(rule: Rule, r: SourceRecord): boolean {
    if (rule.trunk !== null && !rule.trunk.test(r.route?.trunk ?? '')) return false;
    if (rule.context !== null && !rule.context.test(r.route?.context ?? '')) return false;
    return rule.source === null || rule.source.test(r.source);
  }
}
