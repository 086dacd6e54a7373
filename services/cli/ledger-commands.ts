/**
 * Reading the embedded ledger back: `cdr runs` (what each run did), `cdr export --run N` (a run's output
 * files rebuilt from the store, after a crash or for a lost folder) and `cdr explain CDR_ID…` (why a
 * call costs what it costs, in full).
 */
import type { Command } from 'commander';
import { explainCall } from '../core/rating/explain.js';
import { Rater } from '../core/rating/rater.js';
import { loadConfig } from '../config/load-config.js';
import { reportingZone } from '../config/pipeline-context.js';
import { exportRun } from '../embedded/output-files.js';
import { RunError } from '../embedded/run-errors.js';
import { EmbeddedLedger } from '../store/embedded-ledger.js';
import { openSqlite } from '../store/sqlite.js';

export function addLedgerCommands(program: Command): void {
  program
    .command('runs')
    .description('list the runs recorded in a data directory: when, which files, what they rated, and whether they finished')
    .option('--data <dir>', 'state directory', '.cdr-data')
    .action((o: { data: string }) =>
      withLedger(o.data, (ledger) => {
        for (const r of ledger.runs()) {
          const c = r.counts as { read?: number; rated?: number; adjustments?: number };
          process.stdout.write(`run ${r.runId} ${r.status} ${new Date(r.startedAt).toISOString()} read ${c.read ?? 0} rated ${c.rated ?? 0} adjustments ${c.adjustments ?? 0} → ${r.outDir}  ${r.files.join(' ')}\n`);
        }
      }),
    );

  program
    .command('export')
    .description("rebuild a run's output files (rated.csv, adjustments.csv, alerts.jsonl, rejected.csv, summary.json) from the store")
    .requiredOption('--run <id>', 'run number (see cdr runs)', (v) => Number(v))
    .option('--data <dir>', 'state directory', '.cdr-data')
    .option('--config <dir>', 'configuration directory (for times and explanations)', 'config')
    .option('--out <dir>', 'where to write run-NNNNNN/ (default: the run\'s own --out)')
    .action((o: { run: number; data: string; config: string; out?: string }) =>
      withLedger(o.data, async (ledger) => {
        const run = ledger.run(o.run);
        if (run === null) throw new RunError(`no run ${o.run} in ${o.data}: see cdr runs --data ${o.data}`);
        const config = loadConfig(o.config);
        const folder = await exportRun(ledger, run.runId, o.out ?? run.outDir, { ...run.counts, run_id: run.runId, status: run.status }, { plans: config.plans, zone: reportingZone(config), store: { id: ledger.storeId(), dataDir: o.data } });
        process.stdout.write(`run ${run.runId} (${run.status}) exported to ${folder}/\n`);
      }),
    );

  program
    .command('explain')
    .description('why each call costs what it costs: plan, component, tariff entry, counter against threshold, contract clause')
    .argument('<cdr_ids...>', 'cdr_id of rated calls')
    .option('--data <dir>', 'state directory', '.cdr-data')
    .option('--config <dir>', 'configuration directory', 'config')
    .option('--subscribers <file>', 'subscriber directory to use instead of <config>/subscribers.csv')
    .action((ids: string[], o: { data: string; config: string; subscribers?: string }) =>
      withLedger(o.data, (ledger) => {
        const config = loadConfig(o.config, o.subscribers);
        const rater = new Rater({ plans: config.plans, numbering: config.numbering, usersOf: (c, s) => config.directory.usersOf(c, s), state: ledger });
        let missing = 0;
        for (const id of ids) {
          const stored = ledger.storedCall(id);
          const call = stored === null ? null : rater.revive(stored);
          if (call === null) {
            missing++;
            process.stdout.write(`${id}: ${stored === null ? 'not rated in this data directory' : `its plan ${stored.cdr.subscriber.planId} is no longer in the configuration`}\n`);
            continue;
          }
          process.stdout.write(explainCall(call, (key) => {
            const saved = ledger.counterRow(key);
            return saved === null ? undefined : saved;
          }) + '\n');
        }
        if (missing > 0) process.exitCode = 1;
      }),
    );
}

async function withLedger(dataDir: string, work: (ledger: EmbeddedLedger) => void | Promise<void>): Promise<void> {
  let ledger: EmbeddedLedger;
  try {
    ledger = new EmbeddedLedger(openSqlite(dataDir));
  } catch (e) {
    throw new RunError(`cannot open the data directory ${dataDir} (${(e as { code?: string }).code ?? (e as Error).message}): check the path (--data)`);
  }
  try {
    await work(ledger);
  } finally {
    ledger.db.close();
  }
}
