/**
 * One embedded run (`cdr rate`'s rateFiles) in its own process, so that its time and peak memory are its
 * own. Argv: dataDir outDir subscribers file…; prints one JSON line on stdout.
 */
import { dirname } from 'node:path';
import { loadConfig } from '../services/config/load-config.js';
import { rateFiles } from '../services/embedded/rate-files.js';

const [dataDir, outDir, subscribers, ...files] = process.argv.slice(2);
const config = loadConfig('config', subscribers!);
const started = performance.now();
const summary = await rateFiles({ config, dataDir: dataDir!, outDir: outDir!, sourceZone: 'Europe/Paris', files });
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  JSON.stringify({
    seconds,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    read: summary.read,
    rated: summary.rated,
    rejected: summary.rejected.total,
    duplicates: summary.duplicates,
    alerts: summary.alerts.byRule,
    runFolder: dirname(summary.outputs['rated.csv']!),
  }) + '\n',
);
