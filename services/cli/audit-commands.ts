/**
 * `cdr audit verify` and `cdr audit list`: the fraud desk's audit trail, over the embedded data
 * directory (--data) or PostgreSQL (--database-url), like the other desk commands.
 */
import { Command } from 'commander';
import { openStore, type StoreFlags } from './data-dir.js';
import { SUBJECT_TYPES, listAudit, type SubjectType } from '../store/desk/audit-log.js';
import { describeVerification, verifyAuditTrail } from '../store/desk/audit-verify.js';
import { UsageError, withStore } from './desk-commands.js';

export function addAuditCommands(program: Command): void {
  const audit = program.command('audit').description("the fraud desk's audit trail: append-only and hash-chained");

  withStore(audit.command('verify'))
    .description('walk the hash chain: exit 0 if intact (prints the head hash, worth keeping elsewhere), 1 naming the first broken event')
    .option('--anchor <hash...>', 'head hashes printed by earlier verifications: each must still be in the chain', toHashes, [])
    .action(async (o: StoreFlags & { anchor: string[] }) => {
      const sql = await openStore(o);
      try {
        const result = await verifyAuditTrail(sql, { anchors: o.anchor });
        process.stdout.write(`${describeVerification(result)}\n`);
        if (!result.ok) process.exitCode = 1;
      } finally {
        await sql.close();
      }
    });

  withStore(audit.command('list'))
    .description('the events, oldest first, one JSON object a line')
    .option('--subject-type <type>', `one of ${SUBJECT_TYPES.join(', ')}`, toSubjectType)
    .option('--subject-id <id>', 'one alert, account, month (CLIENT/YYYY-MM) or token name')
    .option('--limit <n>', 'at most this many events', toCount, 1000)
    .option('--offset <n>', 'skip this many first', toCount, 0)
    .action(async (o: StoreFlags & { subjectType?: SubjectType; subjectId?: string; limit: number; offset: number }) => {
      const sql = await openStore(o);
      try {
        const events = await listAudit(sql, { subjectType: o.subjectType, subjectId: o.subjectId, limit: o.limit, offset: o.offset });
        for (const e of events) process.stdout.write(`${JSON.stringify(e)}\n`);
      } finally {
        await sql.close();
      }
    });
}

function toHashes(v: string, previous: string[]): string[] {
  if (!/^[0-9a-f]{64}$/.test(v)) throw new UsageError(`--anchor "${v}": expected a head hash as cdr audit verify prints it (64 hex digits)`);
  return [...previous, v];
}

function toSubjectType(v: string): SubjectType {
  const t = SUBJECT_TYPES.find((s) => s === v);
  if (t === undefined) throw new UsageError(`--subject-type "${v}": expected one of ${SUBJECT_TYPES.join(', ')}`);
  return t;
}

function toCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`"${v}": expected a whole number`);
  return n;
}
