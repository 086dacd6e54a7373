/**
 * `cdr inspect FILE…`: a dry run for onboarding a PBX. It reads the exports with `cdr rate`'s options and
 * says what rating would make of them (services/ingest/inspect-export.ts), as text for the operator or as
 * one JSON document (`--json`) for scripts. It writes nothing: no data directory, no store, no output folder.
 * Phone numbers are the operator's data and are shown on stdout; the log gets counts only.
 */
import { normalizeContext } from '../config/pipeline-context.js';
import type { Command } from 'commander';
import { ConfigError } from '../config/config-error.js';
import { loadConfig } from '../config/load-config.js';
import { Zone } from '../core/calendar.js';
import { terminalProgress } from '../embedded/progress.js';
import { CALL_KINDS, inspectExports, type CallCounts, type FileInspection, type InspectReport } from '../ingest/inspect-export.js';
import { exportInputProblem } from '../ingest/readers/export-directory.js';
import { UsageError } from './desk-commands.js';
import { readOptions, withExportOptions, type ExportFlags } from './export-options.js';
import { logger } from './logger.js';

interface InspectFlags extends ExportFlags {
  config: string;
  subscribers?: string;
  json?: boolean;
}

export function addInspectCommand(program: Command): void {
  withExportOptions(program.command('inspect'))
    .description('dry run before a first bill: what rating would make of PBX exports (formats, counts, unknown accounts, routes, dial plan, options to add); writes nothing')
    .argument('<files...>', 'switch exports, read as cdr rate reads them')
    .option('--config <dir>', 'configuration directory (numbering, plans, subscribers)', 'config')
    .option('--subscribers <file>', 'subscriber directory to use instead of <config>/subscribers.csv')
    .option('--json', 'print the report as one JSON document (README "Onboarding a PBX")')
    .action(async (files: string[], o: InspectFlags) => {
      for (const f of files) {
        const problem = exportInputProblem(f);
        if (problem !== null) throw new UsageError(problem);
      }
      const config = loadConfig(o.config, o.subscribers);
      let zone: Zone;
      try {
        zone = new Zone(o.tz);
      } catch (e) {
        throw new ConfigError('--tz', 'value', (e as Error).message);
      }
      const started = performance.now();
      const report = await inspectExports(files, {
        ctx: normalizeContext(config, zone),
        read: readOptions(o),
        progress: o.json ? undefined : terminalProgress(process.stderr, 'usable'),
      });
      const t = report.totals;
      logger.info({ files: files.length, read: t.read, refused: t.refused, suggestions: report.suggestions.length, ms: Math.round(performance.now() - started) }, 'inspect complete');
      process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : renderReport(report));
    });
}

/** The report as an operator reads it, section by section; the last line says nothing was written. */
export function renderReport(r: InspectReport): string {
  const out: string[] = [];
  for (const f of r.files) out.push(...fileSection(f), '');
  if (r.files.length > 1) out.push(`all files: ${r.totals.read} records read: ${counts(r.totals)}`, '');

  const unknown = r.unknownSubscribers;
  if (unknown.entries.length > 0) {
    out.push('accounts and numbers the directory does not know: lines for subscribers.csv (fill client, site, user and plan):', '');
    out.push(`  ${unknown.header}`, ...unknown.entries.map((e) => `  ${e.line}`), '');
    out.push('  calls of each:', ...unknown.entries.map((e) => `  ${e.account || e.numbers[0] || '?'}: ${e.calls} call${e.calls === 1 ? '' : 's'}`));
    if (unknown.more > 0) out.push(`  … and ${unknown.more} more refused call(s) of accounts not listed (over 5000 accounts)`);
    out.push('');
  }
  if (unknown.trunks.length > 0) {
    const names = unknown.trunks.map((t) => `${t.account} (${t.calls} call${t.calls === 1 ? '' : 's'})`).join(', ');
    out.push(`unknown accounts taken for trunks, not subscribers: ${names}; see the options to add`, '');
  }

  if (r.routes.length > 0) {
    out.push('routes seen (what each was taken for):');
    for (const route of r.routes.slice(0, 40)) {
      const taken = Object.entries(route.takenFor).map(([k, v]) => `${k} ${v}`).join(', ');
      out.push(`  ${route.kind} ${route.name}: ${route.calls} call${route.calls === 1 ? '' : 's'} (${taken})`);
    }
    if (r.routes.length > 40) out.push(`  … ${r.routes.length - 40} more in --json`);
    out.push('');
  }

  if (r.dialPlan.pbx.length > 0) {
    out.push('dial plan guessed from the calls (dial-plan.yaml; check it with the PBX installer):', '');
    out.push(...r.dialPlan.yaml.trimEnd().split('\n').map((l) => `  ${l}`), '');
    for (const p of r.dialPlan.pbx) {
      const who = p.clientId === '' ? 'accounts not in the directory' : p.clientId;
      const ranges = p.extensions.map((e) => `${e.range} (${e.numbers} number${e.numbers === 1 ? '' : 's'}, ${e.calls} call${e.calls === 1 ? '' : 's'})`).join(', ');
      out.push(`  ${who}: extensions seen ${ranges || 'none'}`);
      if (p.outsidePrefix !== null) out.push(`    outside-line prefix "${p.outsidePrefix.prefix}": ${p.outsidePrefix.calls} of ${p.outsidePrefix.of} outbound numbers dialled carry it`);
      if (p.calleeSent > 0) out.push(`    ${p.calleeSent} outbound call(s) give the number the trunk received: no prefix to take off`);
    }
    out.push('');
  }

  if (r.destinations.length > 0) {
    out.push(`answered outbound calls by destination: ${r.destinations.map((d) => `${d.class} ${d.calls}`).join(', ')}`, '');
  }

  if (r.suggestions.length > 0) {
    out.push('options to add to cdr rate:');
    for (const s of r.suggestions) out.push(`  ${s.option}${s.value === undefined ? '' : ` ${shellQuote(s.value)}`}`, `      ${s.why}`);
    out.push('');
  } else out.push('no option to add', '');

  out.push('nothing was written');
  return out.join('\n') + '\n';
}

function fileSection(f: FileInspection): string[] {
  const how = f.format === null ? 'format not recognised' : f.profile !== null ? `profile ${f.profile}` : f.template !== null ? `${f.format}, template ${f.template}` : f.format;
  const lines = [`${f.path}: ${how}; ${f.read} records read`, `  ${counts(f.calls)}`];
  for (const r of f.refused) {
    lines.push(`  refused ${r.reason}: ${r.count}`);
    for (const e of r.examples) lines.push(`    ${e.at}  ${e.raw}`, `      ${e.detail}`);
  }
  for (const n of f.notes) lines.push(`  mended ${n.count}×: ${n.note}`);
  return lines;
}

function counts(c: CallCounts): string {
  return CALL_KINDS.map((k) => `${k} ${c[k]}`).join(', ');
}

function shellQuote(value: string): string {
  return /^[\w./:@+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
