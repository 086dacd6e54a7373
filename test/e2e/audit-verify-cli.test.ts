/**
 * `cdr audit verify` as an auditor runs it, over both stores: exit 0 and the head hash when the trail
 * is intact (also after several `cdr` processes wrote at once), exit 1 naming the first broken event
 * and how it broke after each edit made by hand: the triggers dropped (or, for a forged event, left),
 * then raw SQL on the store. `cdr audit list` prints the events.
 */
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { STORE_KINDS, openTestStore, type TestStore } from '../api/support/stores.js';
import { rawConnection, writeTrail, type RawConnection } from '../api/support/audit-trail.js';
import { chainColumns, contentOfRow, eventHash } from '../../services/store/desk/audit-chain.js';

const CLI = resolve('dist/services/cli/main.js');
const env = { ...process.env, LOG_LEVEL: 'warn' };
const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env });
const runAsync = (args: string[]) =>
  new Promise<number | null>((done) => spawn(process.execPath, [CLI, ...args], { env, stdio: 'ignore' }).on('exit', done));

const placeholder = (dialect: 'postgres' | 'sqlite', n: number) => (dialect === 'sqlite' ? '?' : `$${n}`);

/** Rewrites the hashes of the events from `fromSeq` on as `cdr` would have, the way a careful forger does. */
async function rehash(raw: RawConnection, dialect: 'postgres' | 'sqlite', fromSeq: number, relink: boolean): Promise<string> {
  const rows = await raw.rows(`SELECT ${chainColumns(dialect)} FROM audit_event ORDER BY seq`);
  let prev = '';
  for (const r of rows) {
    const seq = Number(r.seq);
    if (seq >= fromSeq) {
      const prevHash = relink && prev !== '' ? prev : String(r.prev_hash);
      const hash = eventHash(contentOfRow(r, dialect, seq, prevHash));
      await raw.exec(`UPDATE audit_event SET prev_hash = ${placeholder(dialect, 1)}, hash = ${placeholder(dialect, 2)} WHERE event_id = ${placeholder(dialect, 3)}`, [prevHash, hash, Number(r.event_id)]);
      r.hash = hash;
    }
    prev = String(r.hash);
  }
  return prev;
}

describe.each(STORE_KINDS)('cdr audit verify over %s', (kind) => {
  const dialect = kind === 'postgres' ? 'postgres' : 'sqlite';
  const p = (n: number) => placeholder(dialect, n);
  let store: TestStore | undefined;
  let raw: RawConnection | undefined;
  afterEach(async () => {
    await raw?.close();
    await store?.close();
    raw = store = undefined;
  });

  /** A trail of six events (10:00 … 10:05), tampered with by `edit`; what verify says of it. */
  async function verifyAfter(edit: (raw: RawConnection) => Promise<void>, { dropTriggers = true, args = [] as string[] } = {}) {
    store = await openTestStore(kind);
    await writeTrail(store.sql, 6);
    raw = await rawConnection(store);
    if (dropTriggers) await raw.dropTriggers();
    await edit(raw);
    const r = run(['audit', 'verify', ...store.flags, ...args]);
    // What it prints names events by id, place and time; never their content (a lock's reason quotes a number).
    expect(r.stdout + r.stderr).not.toContain('+33612345678');
    return r;
  }

  it('says the trail is intact, with its length and head hash, and exits 0', async () => {
    const r = await verifyAfter(async () => {}, { dropTriggers: false });
    const [head] = await raw!.rows('SELECT hash FROM audit_chain_head');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`audit trail intact: 6 events, head ${String(head!.hash)}\n`);
    expect(run(['audit', 'verify', ...store!.flags, '--anchor', String(head!.hash)]).status).toBe(0);
  });

  it('stays intact when several cdr processes append at once', async () => {
    store = await openTestStore(kind);
    await writeTrail(store.sql, 3);
    const codes = await Promise.all(Array.from({ length: 6 }, (_, i) => runAsync(['token', 'create', '--role', 'analyst', '--name', `proc-${i}`, ...store!.flags])));
    expect(codes).toEqual(Array(6).fill(0));
    const r = run(['audit', 'verify', ...store.flags]);
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toContain('audit trail intact: 9 events, head ');
    const tokens = run(['audit', 'list', '--subject-type', 'token', ...store.flags]).stdout.trim().split('\n').map((l) => JSON.parse(l) as { subject_id: string });
    expect(tokens.map((e) => e.subject_id).filter((s) => s.startsWith('proc-')).sort()).toEqual(['proc-0', 'proc-1', 'proc-2', 'proc-3', 'proc-4', 'proc-5']);
  });

  it('names an event whose comment was edited', async () => {
    const r = await verifyAfter((raw) => raw.exec("UPDATE audit_event SET comment = 'nothing to see' WHERE seq = 3"));
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^audit trail broken \(altered\) at event 3 \(seq 3, 2026-03-20T10:02:00\.000Z\): its content does not match its hash/);
  });

  it('names an event whose time was moved, even by less than a millisecond where the store keeps microseconds', async () => {
    const moved = dialect === 'sqlite' ? 'UPDATE audit_event SET at = at + 1 WHERE seq = 2' : "UPDATE audit_event SET at = at + interval '1 microsecond' WHERE seq = 2";
    const r = await verifyAfter((raw) => raw.exec(moved));
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(dialect === 'sqlite' ? /\(altered\) at event 2 \(seq 2, 2026-03-20T10:01:00\.001Z\)/ : /\(altered\) at event 2 \(seq 2, 2026-03-20T10:01:00\.000001Z\)/);
  });

  it('names the event after one that was deleted', async () => {
    const r = await verifyAfter((raw) => raw.exec('DELETE FROM audit_event WHERE seq = 3'));
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/\(missing\) at event 4 \(seq 4, 2026-03-20T10:03:00\.000Z\): event seq 3 is missing before it: deleted/);
  });

  it('sees the last events deleted: the trail no longer reaches its head', async () => {
    const r = await verifyAfter((raw) => raw.exec('DELETE FROM audit_event WHERE seq >= 5'));
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/\(missing\) at event 4 \(seq 4, .*\): the trail ends here but its head is at seq 6: events seq 5–6 are missing after it/);
  });

  it('names an event inserted by hand without a place in the chain', async () => {
    const r = await verifyAfter((raw) =>
      raw.exec(`INSERT INTO audit_event (at, actor, subject_type, subject_id, action, from_state, to_state) VALUES (${p(1)}, 'mallory', 'alert', 'al-x', 'resolve', 'open', 'resolved')`, [dialect === 'sqlite' ? Date.parse('2026-03-20T11:00:00Z') : '2026-03-20T11:00:00Z']),
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/\(unchained\) at event \d+ \(seq none, 2026-03-20T11:00:00\.000Z\): it is not in the chain/);
  });

  it('names a forged event that passes the triggers (right place, made-up hash)', async () => {
    const r = await verifyAfter(async (raw) => {
      const [head] = await raw.rows('SELECT seq, hash FROM audit_chain_head');
      await raw.exec(
        `INSERT INTO audit_event (at, actor, subject_type, subject_id, action, from_state, to_state, seq, prev_hash, hash) VALUES (${p(1)}, 'ana', 'alert', 'al-x', 'resolve', 'open', 'resolved', ${p(2)}, ${p(3)}, ${p(4)})`,
        [dialect === 'sqlite' ? Date.parse('2026-03-20T11:00:00Z') : '2026-03-20T11:00:00Z', Number(head!.seq) + 1, head!.hash, 'f'.repeat(64)],
      );
    }, { dropTriggers: false });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/\(altered\) at event 7 \(seq 7, 2026-03-20T11:00:00\.000Z\): its content does not match its hash/);
  });

  it('names an event moved before another, its hash recomputed', async () => {
    const r = await verifyAfter(async (raw) => {
      await raw.exec('UPDATE audit_event SET seq = 100 WHERE seq = 2');
      await raw.exec('UPDATE audit_event SET seq = 2 WHERE seq = 3');
      await raw.exec('UPDATE audit_event SET seq = 3 WHERE seq = 100');
      await rehash(raw, dialect, 2, false);
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/\(reordered\) at event 3 \(seq 2, 2026-03-20T10:02:00\.000Z\): it does not follow the event before it/);
  });

  it('misses a chain rewritten in full after an edit, unless given a head recorded earlier (--anchor)', async () => {
    let recorded = '';
    const r = await verifyAfter(async (raw) => {
      recorded = String((await raw.rows('SELECT hash FROM audit_chain_head'))[0]!.hash);
      await raw.exec("UPDATE audit_event SET comment = 'nothing to see' WHERE seq = 2");
      const head = await rehash(raw, dialect, 2, true);
      await raw.exec(`UPDATE audit_chain_head SET hash = ${p(1)}`, [head]);
    });
    expect(r.status).toBe(0);
    const anchored = run(['audit', 'verify', ...store!.flags, '--anchor', recorded]);
    expect(anchored.status).toBe(1);
    expect(anchored.stdout).toContain(`audit trail broken (anchor) at the trail: no event carries the hash ${recorded}`);
  });

  it('sees the chain head removed', async () => {
    const r = await verifyAfter((raw) => raw.exec('DELETE FROM audit_chain_head'));
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/\(head\) at event 6 .*: the chain head \(audit_chain_head\) is gone/);
  });

  it('refuses an anchor that is not a hash (exit 2)', async () => {
    store = await openTestStore(kind);
    const r = run(['audit', 'verify', ...store.flags, '--anchor', 'abc']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--anchor "abc": expected a head hash');
  });
});
