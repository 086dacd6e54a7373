/**
 * PostgreSQL keys rejects as the embedded store does (issue 23, part 6; schemas/sql/014_reject_per_file.sql):
 * the same content under two names is two files, each with its rejects; the same file written again
 * replaces its own; a rotated file (same name, other content) keeps the older rejects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reject } from '../../services/ingest/source-record.js';
import { listRejects, rejectGroups } from '../../services/store/rejects.js';
import { writeResults } from '../../services/store/rating-store.js';
import type { PgTx } from '../../services/store/sql.js';
import { openTestStore, type TestStore } from '../api/support/stores.js';

let store: TestStore;

beforeAll(async () => {
  store = await openTestStore('postgres');
});

afterAll(async () => {
  await store?.close();
});

const reject = (source: string, line: number, checksum: string): Reject & { checksum: string } => ({
  source, line, checksum, reason: 'unknown_subscriber', detail: 'no subscriber for account "acc-late"', raw: `k-${line},acc-late`,
});

describe('rejects in PostgreSQL', () => {
  it('keeps one set per file, even for files of identical content', async () => {
    const write = (rejects: (Reject & { checksum: string })[]) => store.sql.transaction((tx) => writeResults(tx as PgTx, { rejects })); // a PostgreSQL store's transactions are PgTx
    await write([reject('/exports/site-1.csv', 3, 'sha-a'), reject('/exports/site-2.csv', 3, 'sha-a')]);
    await write([reject('/exports/site-2.csv', 3, 'sha-a')]); // the same file again
    await write([reject('/exports/site-1.csv', 3, 'sha-b')]); // site-1.csv rotated: other content, same line

    const groups = await rejectGroups(store.sql);
    expect(groups.map((g) => `${g.source} ${g.checksum} ${g.count}`).sort()).toEqual(['/exports/site-1.csv sha-a 1', '/exports/site-1.csv sha-b 1', '/exports/site-2.csv sha-a 1']);
    const listed = await listRejects(store.sql, null, 10);
    expect(listed.map((r) => `${r.source}:${r.line}`)).toEqual(['/exports/site-1.csv:3', '/exports/site-1.csv:3', '/exports/site-2.csv:3']);
  }, 30_000);
});
