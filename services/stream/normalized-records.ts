/**
 * The records of cdr.normalized. `cdr ingest` writes a client's calls several to a record
 * (NormalizedCdrBatch, key = the client): each record costs the producer, the broker and the rater work of
 * its own (framing, CRC, a buffer per key and value, a decode), which with one call per record was a good
 * share of the streaming path's CPU per call. The rater also reads single NormalizedCdr records, as older
 * ingests wrote them: a topic may still hold those when a new rater starts.
 */
import type { Message } from 'kafkajs';
import type { Cdr } from '../core/cdr.js';
import { codecs } from './avro-codec.js';

/** Calls per record at most: one client's share of an ingest window rarely reaches it. */
export const CDRS_PER_RECORD = 500;
/** A record is split past this size, far under a produce request (bounded-send.ts), whatever the texts hold. */
const MAX_RECORD_BYTES = 256 * 1024;

/** The records for `cdrs`, one client's calls per record in the order given, keyed by the client. */
export function normalizedRecords(cdrs: readonly Cdr[]): Message[] {
  const byClient = new Map<string, Cdr[]>();
  for (const cdr of cdrs) {
    const client = cdr.subscriber.clientId;
    const calls = byClient.get(client);
    if (calls === undefined) byClient.set(client, [cdr]);
    else calls.push(cdr);
  }
  const records: Message[] = [];
  for (const [client, calls] of byClient) {
    for (let i = 0; i < calls.length; i += CDRS_PER_RECORD) pushRecord(records, client, calls.slice(i, i + CDRS_PER_RECORD));
  }
  return records;
}

function pushRecord(records: Message[], client: string, cdrs: Cdr[]): void {
  const value = codecs.normalizedCdrBatch.encode({ cdrs });
  if (value.length > MAX_RECORD_BYTES && cdrs.length > 1) {
    const half = Math.ceil(cdrs.length / 2);
    pushRecord(records, client, cdrs.slice(0, half));
    pushRecord(records, client, cdrs.slice(half));
    return;
  }
  records.push({ key: client, value });
}

/** The calls of one record of either kind; an AvroCodecError for a record that is neither. */
export function cdrsOfRecord(value: Buffer): Cdr[] {
  const batch = codecs.normalizedCdrBatch;
  return batch.wrote(value) ? batch.decode(value).cdrs : [codecs.normalizedCdr.decode(value)];
}
