/** The project's own numbering plan (config/numbering.yaml), for a server started without a configuration's. */
import { findUp } from '../config/project-files.js';
import { loadYamlFile } from '../config/yaml-file.js';
import { NumberingPlan, numberingSchema } from '../core/numbering.js';

let plan: NumberingPlan | undefined;

export function projectNumbering(): NumberingPlan {
  plan ??= new NumberingPlan(loadYamlFile(findUp('config/numbering.yaml', import.meta.url), numberingSchema));
  return plan;
}
