/** What the rating and fraud stages need of a loaded configuration, the same in every runtime. */
import { Zone } from '../core/calendar.js';
import type { PipelineContext } from '../core/cdr-pipeline.js';
import type { NormalizeContext } from '../ingest/normalize.js';
import type { Config } from './load-config.js';

export function pipelineContext(config: Config, extra: Partial<PipelineContext> = {}): PipelineContext {
  return {
    plans: config.plans,
    numbering: config.numbering,
    fraud: config.fraud,
    zone: reportingZone(config),
    usersOf: (c, s) => config.directory.usersOf(c, s),
    numbersOf: (c) => config.directory.numbersOfClient(c),
    isPlatform: (a) => config.directory.isPlatform(a),
    limits: config.limits,
    ...extra,
  };
}

/** Alerts and outputs are read by a French fraud desk and invoicing: their times are shown in the plans' zone. */
export function reportingZone(config: Config): Zone {
  return config.plans.values().next().value?.calendar ?? new Zone('Europe/Paris');
}

/** What the normaliser needs of a loaded configuration: the same in `cdr rate`, `cdr ingest` and `cdr inspect`. */
export function normalizeContext(config: Config, sourceZone: Zone): NormalizeContext {
  return { numbering: config.numbering, sourceZone, directory: config.directory, limits: config.limits, rewrites: config.rewrites };
}
