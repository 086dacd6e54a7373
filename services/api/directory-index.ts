/** Which clients, sites and users the subscriber directory knows, built once at start (the directory is fixed while serving). */
import type { SubscriberDirectory } from '../ingest/subscriber-directory.js';

export class DirectoryIndex {
  private readonly keys = new Set<string>();

  constructor(directory: SubscriberDirectory) {
    for (const s of directory.all) {
      this.keys.add(s.clientId);
      this.keys.add(`${s.clientId}\u0000${s.siteId}`);
      this.keys.add(`${s.clientId}\u0001${s.userId}`);
      this.keys.add(`${s.clientId}\u0000${s.siteId}\u0001${s.userId}`);
    }
  }

  knows(client: string, site?: string, user?: string): boolean {
    return this.keys.has(`${client}${site === undefined ? '' : `\u0000${site}`}${user === undefined ? '' : `\u0001${user}`}`);
  }
}
