/**
 * TEMPORARY (see contract-columns.ts): brings a data directory rated by the current `cdr rate` up to
 * the store contract the desk reads, until main's store writes those columns itself.
 */
import { openPglite } from '../../../services/store/sql.js';
import { ensureContractColumns } from './contract-columns.js';

export async function prepareEmbeddedForDesk(dataDir: string): Promise<void> {
  const sql = await openPglite(dataDir);
  try {
    await ensureContractColumns(sql);
  } finally {
    await sql.close();
  }
}
