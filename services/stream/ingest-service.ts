/**
 * `cdr ingest`: switch exports → normalised CDRs on cdr.normalized (key = client_id), rejects on
 * cdr.rejected and in the reject table. A file is recorded as ingested (by checksum) only once the
 * broker has acknowledged every one of its records, so a crash re-sends it whole; the rater then
 * recognises the CDRs it already billed by their cdr_id.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeContext } from '../config/pipeline-context.js';
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { Zone } from '../core/calendar.js';
import type { Cdr } from '../core/cdr.js';
import type { Config } from '../config/load-config.js';
import { normalizeRecord } from '../ingest/normalize.js';
import { readExport, type ReadExportOptions } from '../ingest/readers/detect-format.js';
import { fileChecksum } from '../ingest/file-checksum.js';
import type { Reject } from '../ingest/source-record.js';
import { writeResults } from '../store/rating-store.js';
import type { PgSql } from '../store/sql.js';
import { codecs } from './avro-codec.js';
import { sendBounded } from './bounded-send.js';
import type { Topics } from './kafka-setup.js';
import { normalizedRecords } from './normalized-records.js';

export interface IngestOptions {
  config: Config;
  sql: PgSql;
  producer: Producer;
  topics: Topics;
  sourceZone: Zone;
  read?: ReadExportOptions;
  log: Logger;
}

export interface FileIngestion {
  path: string;
  status: 'ingested' | 'already_ingested';
  records: number;
  rejected: number;
}

/** Calls read before a send: the wider the window, the more of a client's calls share a record. */
const SEND_BATCH = 20_000;

/** Sends a file; `replay` sends one already ingested again (its rejected records may now be rated; the rater bills each CDR once). */
export async function ingestFile(path: string, o: IngestOptions, replay = false): Promise<FileIngestion> {
  const checksum = await fileChecksum(path);
  const done = await o.sql.query<{ records: number; rejected: number }>('SELECT records, rejected FROM ingested_file WHERE checksum = $1', [checksum]);
  if (done.length > 0 && !replay) {
    o.log.info({ file: path, checksum }, 'file already ingested, skipped');
    return { path, status: 'already_ingested', records: done[0]!.records, rejected: done[0]!.rejected };
  }
  const ctx = normalizeContext(o.config, o.sourceZone);
  let pending: Cdr[] = [];
  let rejects: Reject[] = [];
  let records = 0;
  let rejected = 0;
  const flush = async () => {
    // Cut by bytes, not only by count: a client's burst of calls all goes to one partition's batch.
    if (pending.length > 0) await sendBounded(o.producer, [{ topic: o.topics.normalized, messages: normalizedRecords(pending) }]);
    if (rejects.length > 0) {
      await sendBounded(o.producer, [{ topic: o.topics.rejected, messages: rejects.map((r) => ({ key: r.source, value: codecs.reject.encode(r) })) }]);
      await o.sql.transaction((tx) => writeResults(tx, { rejects: rejects.map((r) => ({ ...r, checksum })) }));
    }
    pending = [];
    rejects = [];
  };
  for await (const item of readExport(path, { ...o.read, limits: o.config.limits })) {
    const n = item.kind === 'reject' ? ({ ok: false, reject: item.reject } as const) : normalizeRecord(item.record, ctx);
    if (n.ok) {
      records++;
      pending.push(n.cdr);
    } else {
      rejected++;
      rejects.push(n.reject);
    }
    if (pending.length + rejects.length >= SEND_BATCH) await flush();
  }
  await flush();
  await o.sql.query('INSERT INTO ingested_file (checksum, path, records, rejected) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [checksum, path, records, rejected]);
  o.log.info({ file: path, records, rejected }, 'file ingested');
  return { path, status: 'ingested', records, rejected };
}

/** Files of a spool directory not ingested yet (any name; hidden and partial `.tmp` files skipped). */
export function spoolFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.') && !f.endsWith('.tmp') && !f.endsWith('.part'))
    .map((f) => join(dir, f))
    .filter((p) => statSync(p).isFile())
    .sort();
}
