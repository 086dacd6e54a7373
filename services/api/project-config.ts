/** The project's own numbering plan and fraud settings (config/), for a server started without a configuration's. */
import { findUp } from '../config/project-files.js';
import { loadYamlFile } from '../config/yaml-file.js';
import { loadFraudConfig } from '../config/load-config.js';
import type { FraudConfig } from '../core/fraud/fraud-config.js';
import { dirname } from 'node:path';
import { NumberingPlan, numberingSchema } from '../core/numbering.js';

let plan: NumberingPlan | undefined;
let fraud: FraudConfig | undefined;

export function projectNumbering(): NumberingPlan {
  plan ??= new NumberingPlan(loadYamlFile(findUp('config/numbering.yaml', import.meta.url), numberingSchema));
  return plan;
}

export function projectFraudConfig(): FraudConfig {
  fraud ??= loadFraudConfig(dirname(findUp('config/fraud.yaml', import.meta.url)));
  return fraud;
}
