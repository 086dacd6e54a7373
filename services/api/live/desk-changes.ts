/**
 * What the desk's open pages are told when the store changes (issue 20): which alert changed, which
 * subject got an audit event (a status move, a comment, a lock, an assignment), or "resync" when the
 * watcher may have missed some (it reconnected, or too many came at once) and a page should reload.
 * Only ids travel, never content: the page fetches what it shows through the API, with its own token.
 */
export type DeskChange =
  | { type: 'alert'; alert_id: string }
  | { type: 'audit'; subject_type: string; subject_id: string; action: string }
  | { type: 'resync' };

/** Where changes come from: the database (PostgreSQL's NOTIFY) or a cheap poll (SQLite's data_version). */
export interface ChangeSource {
  /** Starts watching; `emit` receives each batch of changes, in the order found. */
  start(emit: (changes: DeskChange[]) => void): Promise<void>;
  /** This process committed a write: look now instead of at the next tick. */
  poke(): void;
  close(): Promise<void>;
}

/** Beyond this many changes in one batch, pages are told to reload rather than given the list. */
export const MAX_CHANGES_PER_BATCH = 200;

export function capped(changes: DeskChange[]): DeskChange[] {
  return changes.length > MAX_CHANGES_PER_BATCH ? [{ type: 'resync' }] : changes;
}

/** A NOTIFY payload or a row turned into a change; anything unexpected is a resync rather than an error. */
export function changeOf(v: unknown): DeskChange {
  if (typeof v !== 'object' || v === null) return { type: 'resync' };
  const o = v as Record<string, unknown>;
  if (o.type === 'alert' && typeof o.alert_id === 'string') return { type: 'alert', alert_id: o.alert_id };
  if (o.type === 'audit' && typeof o.subject_type === 'string' && typeof o.subject_id === 'string') {
    return { type: 'audit', subject_type: o.subject_type, subject_id: o.subject_id, action: String(o.action ?? '') };
  }
  return { type: 'resync' };
}
