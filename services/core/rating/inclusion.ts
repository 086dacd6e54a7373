/**
 * Does a plan's bundle cover a destination? National classes by name, international destinations
 * by country and by fixed vs mobile line (ProgetCom: fixed lines only; Orange: per-country split).
 */
import type { Plan } from '../plan.js';
import type { Destination } from '../numbering.js';

interface Inclusion {
  classes: ReadonlySet<string>;
  countries: ReadonlyMap<string, ReadonlySet<'fixed' | 'mobile'>>;
}

const cache = new WeakMap<Plan, Inclusion>();

function inclusionOf(plan: Plan): Inclusion {
  let inc = cache.get(plan);
  if (inc === undefined) {
    inc = {
      classes: new Set(plan.included_classes),
      countries: new Map(plan.included_countries.map((c) => [c.country, new Set(c.lines)])),
    };
    cache.set(plan, inc);
  }
  return inc;
}

export function bundleIncludes(plan: Plan, dest: Destination): boolean {
  const inc = inclusionOf(plan);
  if (inc.classes.has(dest.cls)) return true;
  if (dest.cls !== 'international') return false;
  const lines = inc.countries.get(dest.country);
  if (lines === undefined) return false;
  switch (dest.kind) {
    case 'fixed':
      return lines.has('fixed');
    case 'mobile':
      return lines.has('mobile');
    case 'fixed_or_mobile':
      return plan.fixed_or_mobile_counts_as !== 'excluded' && lines.has(plan.fixed_or_mobile_counts_as);
    default:
      return false;
  }
}
