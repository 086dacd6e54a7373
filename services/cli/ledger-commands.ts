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
import { resolve } from 'node:path';
import { exportRun } from '../embedded/output-files.js';
import { notExportedAdvice, summaryOf } from '../embedded/pending-exports.js';
import { describeOutputError, OutputError, RunError } from '../embedded/run-errors.js';
import { EmbeddedLedger, type RunRecord } from '../store/embedded-ledger.js';
import { openExistingStore } from './data-dir.js';

export function addLedgerCommands(program: Command): void {
  program
    .command('runs')
    .description('list the runs recorded in a data directory: when, which files, what they rated, whether they finished, and whether their folder was written')
    .option('--data <dir>', 'state directory', '.cdr-data')
    .action((o: { data: string }) =>
      withLedger(o.data, (ledger) => {
        const runs = ledger.runs();
        for (const r of runs) process.stdout.write(runLine(r, o.data));
        const pending = runs.filter(notExported).length;
        if (pending > 0) process.stdout.write(`${pending} run(s) not exported: their billed calls are in the store and in no rated.csv until exported\n`);
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
        const outDir = o.out ?? run.outDir;
        // The run's own folder: what invoicing reads, and what cdr runs tracks. Elsewhere it is a copy.
        const own = resolve(outDir) === resolve(run.outDir);
        let folder: string;
        try {
          folder = await exportRun(ledger, run.runId, outDir, { ...summaryOf(run), status: run.status }, { plans: config.plans, zone: reportingZone(config), store: { id: ledger.storeId(), dataDir: o.data } });
        } catch (e) {
          if (!(e instanceof OutputError)) throw e;
          const { what, fix } = describeOutputError(e);
          if (own && run.status !== 'running') ledger.markExportFailed(run.runId, what);
          throw new RunError(`cannot write the output folder ${outDir}: ${what}; run ${run.runId} is not exported there. ${fix.charAt(0).toUpperCase()}${fix.slice(1)}, then run this command again`);
        }
        if (own && run.status !== 'running') ledger.markExported(run.runId);
        process.stdout.write(`run ${run.runId} (${run.status}) exported to ${folder}/\n`);
        if (!own && notExported(run)) process.stdout.write(`run ${run.runId} is still not exported to its own --out ${run.outDir}: cdr runs lists it until it is\n`);
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

/** A run that is over and whose folder was never written whole. */
function notExported(r: RunRecord): boolean {
  return r.status !== 'running' && r.exportedAt === null;
}

/**
 * One line a run: number, status, whether its folder was written (`exported`, `NOT EXPORTED`, or nothing
 * while it runs), start, counts, --out and files; under a run not exported, where, why and the fix.
 */
function runLine(r: RunRecord, dataDir: string): string {
  const c = r.counts as { read?: number; rated?: number; adjustments?: number };
  const exported = r.status === 'running' ? '' : notExported(r) ? ' NOT EXPORTED' : ' exported';
  const line = `run ${r.runId} ${r.status}${exported} ${new Date(r.startedAt).toISOString()} read ${c.read ?? 0} rated ${c.rated ?? 0} adjustments ${c.adjustments ?? 0} → ${r.outDir}  ${r.files.join(' ')}\n`;
  return notExported(r) ? `${line}  ${notExportedAdvice(r, dataDir)}\n` : line;
}

async function withLedger(dataDir: string, work: (ledger: EmbeddedLedger) => void | Promise<void>): Promise<void> {
  const ledger = new EmbeddedLedger(openExistingStore(dataDir));
  try {
    await work(ledger);
  } finally {
    ledger.db.close();
  }
}
