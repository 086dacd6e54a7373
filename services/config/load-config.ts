/**
 * Loads a configuration directory: numbering.yaml, plans/*.yaml, tariffs/*.yaml, subscribers.csv, fraud.yaml
 * with the high-risk ranges file it names (high-risk-ranges.yaml), ingest.yaml (input limits; optional) and, when present, dial-plan.yaml (the customer PBXs' extensions and
 * outside-line prefixes) and number-rewrites.yaml (carrier prefixes); for both, the one beside the
 * subscribers file wins.
 * Everything is validated here, once; the rest of the code trusts the types.
 */
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Zone } from '../core/calendar.js';
import { NumberingPlan, numberingSchema } from '../core/numbering.js';
import { planSchema, type Plan } from '../core/plan.js';
import { Tariff, tariffSchema } from '../core/tariff.js';
import { fraudConfigSchema, type FraudConfig } from '../core/fraud/fraud-config.js';
import { HighRiskRanges, highRiskRangesSchema } from '../core/fraud/high-risk-ranges.js';
import { DialPlan } from '../ingest/dial-plan.js';
import { loadIngestLimits, type IngestLimits } from '../ingest/input-limits.js';
import { NumberRewrites } from '../ingest/number-rewrites.js';
import { SubscriberDirectory } from '../ingest/subscriber-directory.js';
import { ConfigError } from './config-error.js';
import { loadYamlFile } from './yaml-file.js';

export interface Config {
  dir: string;
  numbering: NumberingPlan;
  plans: Map<string, Plan>;
  tariffs: Map<string, Tariff>;
  directory: SubscriberDirectory;
  fraud: FraudConfig;
  /** What one input record may hold (config/ingest.yaml). */
  limits: IngestLimits;
  /** Carrier and switch prefixes taken off numbers (number-rewrites.yaml; none when absent). */
  rewrites: NumberRewrites;
}

/** `subscribersFile` replaces the directory's subscribers.csv (a generated workload brings its own). */
export function loadConfig(dir: string, subscribersFile = join(dir, 'subscribers.csv')): Config {
  if (!existsSync(dir)) throw new ConfigError(dir, 'directory', 'does not exist (pass --config DIR)');
  const numbering = new NumberingPlan(loadYamlFile(join(dir, 'numbering.yaml'), numberingSchema));

  const { tariffs, plans } = loadPlans(dir);

  const directory = SubscriberDirectory.load(subscribersFile, numbering);
  // The dial plan describes the same PBXs as the directory: beside the subscribers file, else in the configuration.
  const beside = join(dirname(subscribersFile), 'dial-plan.yaml');
  directory.dialPlan = DialPlan.loadIfPresent(existsSync(beside) ? beside : join(dir, 'dial-plan.yaml'));
  const rewritesBeside = join(dirname(subscribersFile), 'number-rewrites.yaml');
  const rewrites = NumberRewrites.loadIfPresent(existsSync(rewritesBeside) ? rewritesBeside : join(dir, 'number-rewrites.yaml'));
  directory.all.forEach((s) => {
    if (!plans.has(s.planId)) {
      throw new ConfigError(subscribersFile, `account ${s.account}, field plan_id`, `unknown plan "${s.planId}"; known: ${[...plans.keys()].join(', ')}`);
    }
  });
  return { dir, numbering, plans, tariffs, directory, fraud: loadFraudConfig(dir), limits: loadIngestLimits(dir), rewrites };
}

/** fraud.yaml of a configuration directory, with the high-risk ranges file it names. */
export function loadFraudConfig(dir: string): FraudConfig {
  const fraudFile = loadYamlFile(join(dir, 'fraud.yaml'), fraudConfigSchema);
  return { ...fraudFile, highRisk: new HighRiskRanges(loadYamlFile(join(dir, fraudFile.high_risk_ranges), highRiskRangesSchema).ranges) };
}

/**
 * The tariffs and plans of a configuration directory, validated, without the subscriber directory:
 * what documents need (a statement's plan names and contract clauses) where no subscriber is rated.
 */
export function loadPlans(dir: string): { tariffs: Map<string, Tariff>; plans: Map<string, Plan> } {
  if (!existsSync(dir)) throw new ConfigError(dir, 'directory', 'does not exist (pass --config DIR)');
  const tariffs = new Map<string, Tariff>();
  for (const file of yamlFiles(join(dir, 'tariffs'))) {
    const tariff = new Tariff(loadYamlFile(file, tariffSchema));
    if (tariffs.has(tariff.id)) throw new ConfigError(file, 'id', `tariff "${tariff.id}" is defined twice`);
    tariffs.set(tariff.id, tariff);
  }

  const plans = new Map<string, Plan>();
  for (const file of yamlFiles(join(dir, 'plans'))) {
    const config = loadYamlFile(file, planSchema);
    if (plans.has(config.id)) throw new ConfigError(file, 'id', `plan "${config.id}" is defined twice`);
    const tariffTable = tariffs.get(config.tariff);
    if (!tariffTable) throw new ConfigError(file, 'tariff', `unknown tariff "${config.tariff}"; known: ${[...tariffs.keys()].join(', ')}`);
    let calendar: Zone;
    try {
      calendar = new Zone(config.zone);
    } catch (e) {
      throw new ConfigError(file, 'zone', (e as Error).message);
    }
    plans.set(config.id, { ...config, calendar, tariffTable, file });
  }
  return { tariffs, plans };
}

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) throw new ConfigError(dir, 'directory', 'is missing');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .map((f) => join(dir, f));
}
