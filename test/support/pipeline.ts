import { CdrPipeline } from '../../services/core/cdr-pipeline.js';
import type { Config } from '../../services/config/load-config.js';
import { pipelineContext } from '../../services/config/pipeline-context.js';

/** The in-memory pipeline of the shipped configuration (no store): rating and fraud, as both runtimes run them. */
export function pipelineFor(config: Config): CdrPipeline {
  return new CdrPipeline(pipelineContext(config));
}
