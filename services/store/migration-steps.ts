/**
 * Steps of a migration that SQL cannot do alone (a SHA-256 chain: SQLite has no hash function), run in
 * the migration's own transaction where its file says `-- step: NAME` on a line of its own. The SQL
 * before the line has run, the SQL after it runs next: a migration stays one all-or-nothing change.
 */
import type { SqliteDb } from './sqlite.js';
import type { Sql } from './sql.js';
import { GENESIS_HASH, chainColumns, contentOfRow, eventHash, type ChainRow } from './desk/audit-chain.js';

const STEP_LINE = /^-- step: ([a-z0-9-]+)[ \t]*$/m;

/** A migration's text cut at its step lines: SQL, step name, SQL, step name, …, SQL. */
export function splitAtSteps(text: string): { sql: string[]; steps: string[] } {
  const parts = text.split(STEP_LINE);
  return { sql: parts.filter((_, i) => i % 2 === 0), steps: parts.filter((_, i) => i % 2 === 1) };
}

export function sqliteStep(name: string): (db: SqliteDb) => void {
  const step = SQLITE_STEPS[name];
  if (step === undefined) throw new Error(`migration step "${name}" is unknown to this version of cdr`);
  return step;
}

export function postgresStep(name: string): (tx: Sql) => Promise<void> {
  const step = POSTGRES_STEPS[name];
  if (step === undefined) throw new Error(`migration step "${name}" is unknown to this version of cdr`);
  return step;
}

/**
 * Migration 015: the events written before the chain existed are chained now, oldest (lowest event_id)
 * first, from the genesis hash. We chain them rather than start the chain after them so that verify
 * covers the whole trail: what the desk did before the upgrade is as protected as what it does after.
 * (A trail already edited by hand before the upgrade is chained as it stands: nothing can tell now.)
 */
function chainExisting(rows: ChainRow[], dialect: 'postgres' | 'sqlite'): { eventId: number; seq: number; prevHash: string; hash: string }[] {
  let prevHash = GENESIS_HASH;
  return rows.map((r, i) => {
    const seq = i + 1;
    const hash = eventHash(contentOfRow(r, dialect, seq, prevHash));
    const link = { eventId: Number(r.event_id), seq, prevHash, hash };
    prevHash = hash;
    return link;
  });
}

const SQLITE_STEPS: Record<string, (db: SqliteDb) => void> = {
  'chain-existing-audit-events'(db) {
    const rows = db.prepare(`SELECT ${chainColumns('sqlite')} FROM audit_event ORDER BY event_id`).all() as ChainRow[];
    const links = chainExisting(rows, 'sqlite');
    const set = db.prepare('UPDATE audit_event SET seq = ?, prev_hash = ?, hash = ? WHERE event_id = ?');
    for (const l of links) set.run(l.seq, l.prevHash, l.hash, l.eventId);
    const last = links.at(-1);
    db.prepare('INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, ?, ?)').run(last?.seq ?? 0, last?.hash ?? GENESIS_HASH);
  },
};

const POSTGRES_STEPS: Record<string, (tx: Sql) => Promise<void>> = {
  async 'chain-existing-audit-events'(tx) {
    const rows = await tx.query<ChainRow>(`SELECT ${chainColumns('postgres')} FROM audit_event ORDER BY event_id`);
    const links = chainExisting(rows, 'postgres');
    for (const l of links) await tx.query('UPDATE audit_event SET seq = $1, prev_hash = $2, hash = $3 WHERE event_id = $4', [l.seq, l.prevHash, l.hash, l.eventId]);
    const last = links.at(-1);
    await tx.query('INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, $1, $2)', [last?.seq ?? 0, last?.hash ?? GENESIS_HASH]);
    // Appends take their ids from the column's sequence: past every id there, even one written explicitly.
    await tx.query("SELECT setval(pg_get_serial_sequence('audit_event', 'event_id'), (SELECT COALESCE(MAX(event_id), 0) + 1 FROM audit_event), false)");
  },
};
