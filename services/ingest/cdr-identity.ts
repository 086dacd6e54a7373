/**
 * One call, one bill: a CDR whose cdr_id was rated before for the same client is a duplicate (a file or
 * a message delivered again); the same cdr_id for another client is a conflict — two switches that
 * number their calls alike — and is rejected for a person to look at, never dropped or billed twice.
 */
import type { Cdr } from '../core/cdr.js';
import type { Reject } from './source-record.js';

export interface Screened {
  fresh: Cdr[];
  duplicates: number;
  conflicts: Reject[];
}

/** `billedFor` gives the client a cdr_id was billed to, by this run or before it. */
export function screenCdrIds(cdrs: Cdr[], billedFor: (cdrId: string) => string | undefined): Screened {
  const fresh: Cdr[] = [];
  const conflicts: Reject[] = [];
  const inBatch = new Map<string, string>();
  let duplicates = 0;
  for (const cdr of cdrs) {
    const owner = billedFor(cdr.cdrId) ?? inBatch.get(cdr.cdrId);
    if (owner === undefined) {
      inBatch.set(cdr.cdrId, cdr.subscriber.clientId);
      fresh.push(cdr);
    } else if (owner === cdr.subscriber.clientId) {
      duplicates++;
    } else {
      conflicts.push({
        source: cdr.source,
        line: cdr.line,
        reason: 'cdr_id_conflict',
        detail: `cdr_id "${cdr.cdrId}" is already billed to client ${owner}, not ${cdr.subscriber.clientId}: make the switch ids unique (e.g. Asterisk systemname) or leave cdr_id empty`,
        raw: JSON.stringify({ ...cdr, subscriber: cdr.subscriber.account }),
      });
    }
  }
  return { fresh, duplicates, conflicts };
}
