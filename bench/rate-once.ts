/**
 * One embedded run (`cdr rate`'s rateFiles) in its own process, so that its time and peak memory are its
 * own. Argv: dataDir outDir subscribers file…; prints one JSON line on stdout.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadConfig } from '../services/config/load-config.js';
import { rateFiles } from '../services/embedded/rate-files.js';

const [dataDir, outDir, subscribers, ...files] = process.argv.slice(2);
const config = loadConfig('config', subscribers!);
const started = performance.now();
const summary = await rateFiles({ config, dataDir: dataDir!, outDir: outDir!, sourceZone: 'Europe/Paris', files, chunkSize: Number(process.env.BENCH_CHUNK ?? 0) || undefined });
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  JSON.stringify({
    seconds,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    mainThreadCpuSeconds: mainThreadCpu(),
    read: summary.read,
    rated: summary.rated,
    rejected: summary.rejected.total,
    duplicates: summary.duplicates,
    alerts: summary.alerts.byRule,
    runFolder: dirname(summary.outputs['rated.csv']!),
  }) + '\n',
);

/** CPU seconds of the run's own thread (Linux /proc; the writer thread and GC helpers are the rest). */
function mainThreadCpu(): number | null {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return null;
  }
}
