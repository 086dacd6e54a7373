#!/usr/bin/env node
/**
 * The `cdr` command. Exit code: 0 when the run completed (even if some records were rejected: they
 * are in rejected.csv), 2 for a configuration error, 1 for any other failure (I/O, store).
 */
import { Command, Option } from 'commander';
import { ConfigError } from '../config/config-error.js';
import { loadConfig } from '../config/load-config.js';
import { terminalProgress } from '../embedded/progress.js';
import { rateFiles, type RunSummary } from '../embedded/rate-files.js';
import { RunError } from '../embedded/run-errors.js';
import { DataDirLocked } from '../store/data-dir-lock.js';
import { maskPhoneNumbers } from '../api/log-masking.js';
import { addInspectCommand } from './inspect-command.js';
import { addLedgerCommands } from './ledger-commands.js';
import { addRejectCommands } from './reject-commands.js';
import { SCENARIOS, generateWorkload, type Scenario } from '../generator/generate-workload.js';
import { readOptions, withExportOptions, type ExportFlags } from './export-options.js';
import { logger } from './logger.js';
import { addStreamCommands } from './stream-commands.js';
import { UsageError, addDeskCommands } from './desk-commands.js';
import { addAuditCommands } from './audit-commands.js';

const program = new Command('cdr').description('CDR rating and fair-use / fraud enforcement for French telephony forfaits');

withExportOptions(program.command('rate'))
  .description('rate switch exports on the embedded runtime (state in SQLite under --data; outputs in a folder of the run under --out)')
  .argument('<files...>', 'switch exports: canonical CSV, Asterisk Master.csv, FreeSWITCH cdr_csv, Cisco CUCM CDR, or a profiled CSV (detected per file)')
  .option('--config <dir>', 'configuration directory (plans, tariffs, subscribers, fraud)', 'config')
  .option('--data <dir>', 'state directory (the embedded store; one cdr rate at a time)', '.cdr-data')
  .option('--out <dir>', 'output directory: each run writes run-NNNNNN/ in it', 'out')
  .option('--subscribers <file>', 'subscriber directory to use instead of <config>/subscribers.csv')
  .option('--chunk-size <n>', 'records per committed chunk (memory against commit cost)', toInt, 25_000)
  .action(async (files: string[], o: RateOptions) => {
    const config = loadConfig(o.config, o.subscribers);
    const started = performance.now();
    const summary = await rateFiles({ config, dataDir: o.data, outDir: o.out, sourceZone: o.tz, files, read: readOptions(o), progress: terminalProgress(), chunkSize: o.chunkSize });
    logger.info({ read: summary.read, rated: summary.rated, rejected: summary.rejected.total, ms: Math.round(performance.now() - started) }, 'run complete');
    process.stdout.write(formatSummary(summary));
  });

program
  .command('generate')
  .description('write a deterministic synthetic workload: canonical CSV per day plus subscribers.csv')
  .requiredOption('--subscribers <n>', 'number of subscribers', toInt)
  .requiredOption('--days <d>', 'number of days', toInt)
  .option('--seed <s>', 'random seed', toInt, 1)
  .option('--start <date>', 'first day (YYYY-MM-DD)')
  .option('--out <dir>', 'output directory', 'generated')
  .addOption(new Option('--inject <scenario...>', 'fair-use and fraud cases to inject').choices([...SCENARIOS]))
  .action(async (o: { subscribers: number; days: number; seed: number; start?: string; out: string; inject?: Scenario[] }) => {
    const result = await generateWorkload({
      subscribers: o.subscribers,
      days: o.days,
      seed: o.seed,
      ...(o.start ? { startDate: o.start } : {}),
      inject: o.inject ?? [],
      outDir: o.out,
    });
    process.stdout.write(
      `${result.cdrs} CDRs in ${result.files.length} file(s) under ${o.out}/, subscribers in ${result.subscribersFile}` +
        (result.injected.length > 0 ? `, ${result.injected.length} injected scenario(s) in ${result.manifestFile}` : '') +
        '\n',
    );
  });

interface RateOptions extends ExportFlags {
  config: string;
  data: string;
  out: string;
  subscribers?: string;
  chunkSize: number;
}

addInspectCommand(program);
addStreamCommands(program);
addLedgerCommands(program);
addRejectCommands(program);
addDeskCommands(program);
addAuditCommands(program);

function toInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`"${v}" is not a whole number`);
  return n;
}

function formatSummary(s: RunSummary): string {
  const lines = [
    `read ${s.read} records from ${s.files.length} file(s)`,
    `rated ${s.rated}${fmtCounts(s.byReason)}, ${s.duplicates} duplicate(s) skipped`,
    `rejected ${s.rejected.total}${fmtCounts(s.rejected.byReason)}`,
    ...(Object.keys(s.mended ?? {}).length > 0 ? [`rated although mended${fmtCounts(s.mended)}`] : []),
    `adjustments ${s.adjustments}, alerts ${s.alerts.total}${fmtCounts(s.alerts.byRule)}`,
    ...(s.rated === 0 && s.adjustments === 0 ? ['nothing new to bill: earlier runs\' outputs are unchanged'] : []),
    ...(s.recovered.length > 0 ? [`recovered the outputs of interrupted run(s) ${s.recovered.join(', ')} from the store`] : []),
    ...(s.reexported.length > 0 ? [`exported run(s) ${s.reexported.join(', ')}, committed earlier but not exported (their --out had failed), from the store`] : []),
    ...s.notExported.map((n) => `run ${n.run_id} is still not exported: ${n.out_dir} (${n.error}); see cdr runs`),
    ...s.totals.slice(0, 20).map((t) => `  ${t.client_id} ${t.period}${t.billed_on === t.period ? '' : ` (closed: late calls billed on ${t.billed_on})`}: ${t.amount} ${t.currency}`),
    ...(s.totals.length > 20 ? [`  … ${s.totals.length - 20} more client months in summary.json`] : []),
    `run ${s.run_id}: outputs in ${Object.values(s.outputs)[0]?.replace(/\/[^/]+$/, '/') ?? ''}`,
  ];
  return lines.join('\n') + '\n';
}

function fmtCounts(c: Record<string, number>): string {
  const parts = Object.entries(c).map(([k, v]) => `${k} ${v}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

// `cdr runs | head`: once the reader has gone, the rest of the output has nobody to read it; stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

program.parseAsync().catch((e: unknown) => {
  if (e instanceof ConfigError) {
    process.stderr.write(`configuration error: ${e.message}\n`);
    process.exit(2);
  }
  if (e instanceof UsageError) {
    process.stderr.write(`error: ${e.message}\n`);
    process.exit(2);
  }
  if (e instanceof RunError || e instanceof DataDirLocked) {
    process.stderr.write(`cdr: ${e.message}\n`);
    process.exit(e instanceof DataDirLocked ? 3 : 1);
  }
  // Neither a CDR field nor a query's parameters reach the log: the error's kind and its message, numbers masked.
  const err = e as { name?: string; code?: string; message?: string; stack?: string };
  const message = maskPhoneNumbers(err.message ?? String(e));
  logger.error({ err: { type: err.name, code: err.code, message, ...(logger.isLevelEnabled('debug') ? { stack: maskPhoneNumbers(err.stack ?? '') } : {}) } }, 'run failed');
  process.stderr.write(`cdr: ${message}\n`);
  process.exit(1);
});
