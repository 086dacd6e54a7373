import { NumberingPlan, numberingSchema } from '../../services/core/numbering.js';
import { loadYamlFile } from '../../services/config/yaml-file.js';

/** The shipped French numbering plan, as every test and the CLI use it. */
export const numbering = new NumberingPlan(loadYamlFile('config/numbering.yaml', numberingSchema));
