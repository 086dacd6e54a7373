/** One embedded run in its own process, so that its peak memory is its own. Prints JSON on stdout. */
import { loadConfig } from '../services/config/load-config.js';
import { rateFiles } from '../services/embedded/rate-files.js';

const [dataDir, outDir, subscribers, ...files] = process.argv.slice(2);
const started = performance.now();
const summary = await rateFiles({ config: loadConfig('config', subscribers!), dataDir: dataDir!, outDir: outDir!, sourceZone: 'Europe/Paris', files });
const seconds = (performance.now() - started) / 1000;
process.stdout.write(JSON.stringify({ seconds, maxRssMB: process.resourceUsage().maxRSS / 1024, rated: summary.rated, rejected: summary.rejected.total, read: summary.read }) + '\n');
