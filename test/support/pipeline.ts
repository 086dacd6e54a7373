import { Zone } from '../../services/core/calendar.js';
import { CdrPipeline } from '../../services/core/cdr-pipeline.js';
import type { Config } from '../../services/config/load-config.js';

/** The in-memory pipeline of the shipped configuration (no store): rating and fraud, as both runtimes run them. */
export function pipelineFor(config: Config): CdrPipeline {
  return new CdrPipeline({
    plans: config.plans,
    numbering: config.numbering,
    fraud: config.fraud,
    zone: new Zone('Europe/Paris'),
    usersOf: (c, s) => config.directory.usersOf(c, s),
    numbersOf: (c) => config.directory.numbersOfClient(c),
    isPlatform: (a) => config.directory.isPlatform(a),
  });
}
