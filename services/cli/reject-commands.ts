/**
 * `cdr rejects` (what was rejected, by reason and file) and `cdr replay` (rate again the files whose
 * rejects a fixed directory or configuration makes ratable). A replay is an ordinary run of the same
 * files: what was rated before is a duplicate, the records now known are billed once and leave the
 * rejects. The streaming runtime replays through Kafka with `cdr ingest --replay`.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../config/load-config.js';
import { terminalProgress } from '../embedded/progress.js';
import { rateFiles } from '../embedded/rate-files.js';
import { fileChecksum } from '../ingest/file-checksum.js';
import { listRejects, rejectGroups, REPLAYABLE_REASONS } from '../store/rejects.js';
import type { Sql } from '../store/sql.js';
import { sqliteSql } from '../store/sqlite.js';
import { openExistingStore } from './data-dir.js';
import { readOptions, withExportOptions, type ExportFlags } from './export-options.js';

export function addRejectCommands(program: Command): void {
  program
    .command('rejects')
    .description('the rejected records of a data directory: counts by reason and by file, and with --list the records themselves')
    .option('--data <dir>', 'state directory', '.cdr-data')
    .option('--reason <reasons...>', 'only these reasons')
    .option('--list [n]', 'print the records (source, line, reason, detail), the first n (default 100)')
    .action((o: { data: string; reason?: string[]; list?: boolean | string }) =>
      withEmbedded(o.data, async (sql) => {
        process.stdout.write(formatGroups(await rejectGroups(sql), o.reason));
        if (o.list !== undefined) {
          const limit = o.list === true ? 100 : Number(o.list);
          for (const r of await listRejects(sql, o.reason ?? null, limit)) process.stdout.write(`${r.source}:${r.line} ${r.reason}: ${r.detail}\n`);
        }
      }),
    );

  withExportOptions(program.command('replay'))
    .description(`rate again the files whose records were rejected as ${REPLAYABLE_REASONS.join(' or ')}, once the directory or configuration knows them; each CDR is billed once`)
    .option('--config <dir>', 'configuration directory (plans, tariffs, subscribers, fraud)', 'config')
    .option('--subscribers <file>', 'subscriber directory to use instead of <config>/subscribers.csv')
    .option('--data <dir>', 'state directory', '.cdr-data')
    .option('--out <dir>', 'output directory: the replay run writes run-NNNNNN/ in it', 'out')
    .option('--reason <reasons...>', 'replay these reasons only', [...REPLAYABLE_REASONS])
    .action(async (o: ExportFlags & { config: string; subscribers?: string; data: string; out: string; reason: string[] }) => {
      const targets = await withEmbedded(o.data, (sql) => replayTargets(sql, o.reason));
      for (const c of targets.changed) process.stdout.write(`${c.path}: ${c.why}; rate the original file again to replay its rejects\n`);
      if (targets.ready.length === 0) {
        process.stdout.write('nothing to replay\n');
        return;
      }
      const config = loadConfig(o.config, o.subscribers);
      const summary = await rateFiles({ config, dataDir: o.data, outDir: o.out, sourceZone: o.tz, files: targets.ready, read: readOptions(o), progress: terminalProgress() });
      process.stdout.write(`replayed ${targets.ready.length} file(s): rated ${summary.rated}, still rejected ${summary.rejected.total}, duplicates ${summary.duplicates}; run ${summary.run_id}\n`);
    });
}

/** Files holding rejects of these reasons, that are still where they were and still the same bytes. */
export async function replayTargets(sql: Sql, reasons: readonly string[]): Promise<{ ready: string[]; changed: { path: string; why: string }[] }> {
  // A path may have held several files (a rotated Master.csv): each is replayable only if it is there now.
  const checksums = new Map<string, Set<string>>();
  for (const g of await rejectGroups(sql)) {
    if (!reasons.includes(g.reason)) continue;
    if (!checksums.has(g.source)) checksums.set(g.source, new Set());
    checksums.get(g.source)!.add(g.checksum);
  }
  const ready: string[] = [];
  const changed: { path: string; why: string }[] = [];
  for (const [path, wanted] of checksums) {
    if (!existsSync(path)) {
      changed.push({ path, why: 'no longer there' });
      continue;
    }
    const now = await fileChecksum(path);
    if (wanted.has(now) || [...wanted].some((c) => c.startsWith('path:'))) ready.push(path);
    const gone = [...wanted].filter((c) => c !== now && !c.startsWith('path:')).length;
    if (gone > 0) changed.push({ path, why: `its content changed since ${gone} of its versions were rated (a rotated file?)` });
  }
  return { ready, changed };
}

function formatGroups(groups: { source: string; reason: string; count: number }[], reasons?: string[]): string {
  const shown = reasons === undefined ? groups : groups.filter((g) => reasons.includes(g.reason));
  const byReason = new Map<string, number>();
  for (const g of shown) byReason.set(g.reason, (byReason.get(g.reason) ?? 0) + g.count);
  const lines = [`${shown.reduce((n, g) => n + g.count, 0)} rejected record(s)`];
  for (const [reason, n] of byReason) lines.push(`  ${reason}: ${n}${(REPLAYABLE_REASONS as readonly string[]).includes(reason) ? ' (replayable: cdr replay)' : ''}`);
  lines.push('by file:');
  for (const g of shown) lines.push(`  ${g.source} ${g.reason}: ${g.count}`);
  return lines.join('\n') + '\n';
}

async function withEmbedded<T>(dataDir: string, work: (sql: Sql) => Promise<T>): Promise<T> {
  const db = openExistingStore(dataDir);
  try {
    return await work(sqliteSql(db));
  } finally {
    db.close();
  }
}
