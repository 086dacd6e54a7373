/**
 * One writer per partition in PostgreSQL, whatever Kafka's group believes: the database side of fencing
 * a zombie.
 *
 * A worker frozen with a batch's transaction open (SIGSTOP, a VM paused, a process stuck in swap, a long
 * GC) keeps that transaction, and the row locks of the rated rows it copied, for as long as it is frozen:
 * the group gives its partitions to another worker after the session time-out, but the new owner's
 * first batch writes the same cdr_ids and waits on those locks, and the partition stops — for ever if
 * the zombie never wakes. PostgreSQL cannot end such a transaction by itself: a session frozen in the
 * middle of a COPY is "active, waiting for the client", which neither statement_timeout nor
 * idle_in_transaction_session_timeout interrupts.
 *
 * So each batch's transaction first takes the partition's advisory lock. The owner of a partition
 * takes it at once (its own batches of one partition run one after another); a worker that finds it held
 * for longer than a batch can take is a new owner facing a frozen previous one: it terminates that
 * session, whose transaction rolls back and whose locks go with it, and goes on. Correctness never
 * depended on this (the stored offset only moves from the value its batch read, so a zombie that wakes
 * fails its commit); liveness does.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { PgTx } from '../store/sql.js';

/** Longer than a batch's transaction takes even when a broker fails over under it. */
export const FENCE_GRACE_MS = 5000;

/** The advisory lock's two keys: the group and topic hashed into a positive int4, and the partition. */
export function partitionLockKeys(groupId: string, topic: string, partition: number): [number, number] {
  const h = createHash('sha256').update(`${groupId}\u0000${topic}`).digest();
  return [h.readUInt32BE(0) & 0x7fffffff, partition];
}

/**
 * Takes partition's lock for the transaction; past `graceMs` held by another session, terminates that
 * session (a frozen previous owner) and takes it. Returns the sessions terminated, for the log.
 */
export async function takePartition(
  tx: PgTx,
  p: { groupId: string; topic: string; partition: number; log?: Logger },
  graceMs = FENCE_GRACE_MS,
): Promise<{ pid: number; application: string }[]> {
  const [k1, k2] = partitionLockKeys(p.groupId, p.topic, p.partition);
  const deadline = Date.now() + graceMs;
  for (let wait = 20; ; wait = Math.min(250, wait * 2)) {
    const got = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS ok', [k1, k2]);
    if (got[0]!.ok) return [];
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, wait));
  }
  // Two-key advisory locks show their keys as classid and objid, with objsubid 2.
  const fenced = await tx.query<{ pid: number; application: string }>(
    `SELECT a.pid, a.application_name AS application
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 2
        AND l.granted AND l.pid <> pg_backend_pid() AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [k1, k2],
  );
  for (const f of fenced) {
    p.log?.warn(
      { group: p.groupId, topic: p.topic, partition: p.partition, pid: f.pid, holder: f.application, heldMs: graceMs },
      'partition held by a frozen previous owner: its session is terminated (zombie fenced)',
    );
    await tx.query('SELECT pg_terminate_backend($1)', [f.pid]);
  }
  // The terminated session's locks are released as it exits: a moment.
  await tx.query('SELECT pg_advisory_xact_lock($1, $2)', [k1, k2]);
  return fenced;
}
