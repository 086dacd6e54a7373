/**
 * A switch export's content identity (SHA-256 of its bytes): the same file again is recognised whatever
 * its name, and rejects are keyed by it, so that a rotated Master.csv never overwrites an older reject.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export async function fileChecksum(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const block of createReadStream(path)) hash.update(block as Buffer);
  return hash.digest('hex');
}
