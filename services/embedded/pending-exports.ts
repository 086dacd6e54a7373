/**
 * Runs whose calls are billed in the store but whose folder under --out was never written whole: a run
 * killed before its end, or one whose --out failed (a full disk, a folder it may not write). Invoicing
 * reads the folders, so such calls would be billed nowhere. Each `cdr rate` first exports every such run
 * into its own --out; one that still cannot be written stays "not exported" (cdr runs says so) and is
 * tried again by the next run.
 */
import { resolve } from 'node:path';
import type { EmbeddedLedger, RunRecord } from '../store/embedded-ledger.js';
import { cleanStaging, exportRun, runFolder, type ExportContext } from './output-files.js';
import { describeOutputError, OutputError, RunError } from './run-errors.js';

export interface PendingExports {
  /** Interrupted runs (killed, or stopped by their --out) whose folder this run wrote. */
  recovered: number[];
  /** Committed runs whose folder had failed to be written, and this run wrote. */
  exported: number[];
  /** Runs whose folder could still not be written (another --out than this run's). */
  notExported: { run_id: number; out_dir: string; error: string }[];
}

/**
 * Exports every run that is over and not exported. If this run's own --out cannot take them, nothing new
 * is rated: the run ends at once, naming the folder (its files would not be written either).
 */
export async function exportPending(ledger: EmbeddedLedger, outDir: string, ctx: ExportContext): Promise<PendingExports> {
  const done: PendingExports = { recovered: [], exported: [], notExported: [] };
  ledger.markInterrupted();
  const blocked: { run: RunRecord; error: OutputError }[] = [];
  for (const run of ledger.unexported()) {
    try {
      cleanStaging(run.outDir);
      await exportRun(ledger, run.runId, run.outDir, summaryOf(run), ctx);
      ledger.markExported(run.runId);
      (run.status === 'interrupted' ? done.recovered : done.exported).push(run.runId);
    } catch (e) {
      if (!(e instanceof OutputError)) throw e;
      const { what } = describeOutputError(e);
      ledger.markExportFailed(run.runId, what);
      if (resolve(run.outDir) === resolve(outDir)) blocked.push({ run, error: e });
      else done.notExported.push({ run_id: run.runId, out_dir: run.outDir, error: what });
    }
  }
  if (blocked.length > 0) {
    const { what, fix } = describeOutputError(blocked[0]!.error);
    const ids = blocked.map((b) => b.run.runId).join(', ');
    throw new RunError(
      `cannot write the output folder ${outDir}: ${what}. Run(s) ${ids}, billed in the store ${ctx.store.dataDir}, are still not exported there, and nothing new was rated. ` +
        `${capital(fix)}, then rate again (or: cdr export --run ${blocked[0]!.run.runId} --data ${ctx.store.dataDir}); cdr runs --data ${ctx.store.dataDir} lists what is not exported`,
    );
  }
  return done;
}

/** The summary.json of a run exported late: what it recorded (a committed run's whole summary). */
export function summaryOf(run: RunRecord): Record<string, unknown> {
  return run.status === 'committed' ? run.counts : { ...run.counts, run_id: run.runId, interrupted: true };
}

/** What `cdr runs` says under a run that is over and not exported: where, why, and the command that fixes it. */
export function notExportedAdvice(run: RunRecord, dataDir: string): string {
  return (
    `not exported: ${runFolder(run.outDir, run.runId)}/ was not written${run.exportError === null ? '' : ` (${run.exportError})`}; ` +
    `its billed calls are in the store. Fix that folder, then: cdr export --run ${run.runId} --data ${dataDir} (the next cdr rate --data ${dataDir} also exports it)`
  );
}

/**
 * The message of a run whose --out failed after (or while) it committed: the folder, what happened, that
 * the billed calls are kept and where, and what to do. `why` is the short form cdr runs shows.
 */
export function failedExportMessage(e: OutputError, run: { runId: number; outDir: string; dataDir: string; complete: boolean; rated: number }): { text: string; why: string } {
  const { what, fix } = describeOutputError(e);
  const { runId, outDir, dataDir } = run;
  const head = `cannot write the output folder ${outDir}: ${what}. `;
  const text = run.complete
    ? head +
      `Run ${runId} is committed: its ${run.rated} billed call(s) are kept in the store ${dataDir}, but its folder ${runFolder(outDir, runId)}/ is not written. ` +
      `${capital(fix)}, then: cdr export --run ${runId} --data ${dataDir} (or the next cdr rate --data ${dataDir} exports it); until then cdr runs lists it as not exported`
    : head +
      `Run ${runId} stopped: the ${run.rated} call(s) it billed are kept in the store ${dataDir}, the rest of its files is not rated yet. ` +
      `${capital(fix)}, then rate the same files again with --data ${dataDir}: that run first writes run ${runId}'s folder, then bills only what is not billed yet`;
  return { text, why: what };
}

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
