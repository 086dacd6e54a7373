/**
 * The server-sent event streams of the open desk pages: each change batch is written once as text and
 * sent to every stream. A stream costs a PassThrough and a set entry; their number is bounded (the
 * route's in-flight pool, server.ts), a heartbeat comment every 15 s keeps proxies and the server's
 * idle timeout from closing a quiet stream and re-checks the token (a revoked one ends its streams), and
 * a page that stops reading is dropped once 256 KiB wait for it: it reconnects and reloads.
 */
import type { ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import type { DeskChange } from './desk-changes.js';

export interface StreamOptions {
  heartbeatMs: number;
  maxBufferedBytes: number;
}

export const DEFAULT_STREAM_OPTIONS: StreamOptions = { heartbeatMs: 15_000, maxBufferedBytes: 256 * 1024 };

interface Client {
  out: PassThrough;
  res: ServerResponse;
  /** Still allowed to listen (the token not revoked). */
  stillValid: () => Promise<boolean>;
}

export class EventStreams {
  private readonly clients = new Set<Client>();
  private readonly heartbeat: NodeJS.Timeout;
  private sequence = 0;

  constructor(private readonly o: StreamOptions = DEFAULT_STREAM_OPTIONS) {
    this.heartbeat = setInterval(() => void this.beat(), o.heartbeatMs);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** A new stream: its first bytes tell the page how long to wait before reconnecting, and that it is live. */
  open(res: ServerResponse, stillValid: () => Promise<boolean>): PassThrough {
    const out = new PassThrough();
    const client: Client = { out, res, stillValid };
    this.clients.add(client);
    const forget = () => this.clients.delete(client);
    out.once('close', forget);
    out.once('error', forget);
    out.write(`retry: 2000\nevent: hello\ndata: {}\n\n`);
    return out;
  }

  broadcast(changes: DeskChange[]): void {
    if (changes.length === 0 || this.clients.size === 0) return;
    this.sequence += 1;
    this.send(`id: ${this.sequence}\nevent: change\ndata: ${JSON.stringify({ changes })}\n\n`);
  }

  /**
   * Ends every stream (the server is closing: an open stream would hold it), then closes their
   * connections: a page's keep-alive connection could otherwise hold the server's close until its idle
   * timeout. The pages reconnect to whichever server answers next.
   */
  async closeAll(): Promise<void> {
    clearInterval(this.heartbeat);
    const closing = [...this.clients];
    this.clients.clear();
    for (const c of closing) c.out.end();
    await new Promise((ok) => setTimeout(ok, 50));
    for (const c of closing) c.res.socket?.destroy();
  }

  private send(text: string): void {
    for (const c of this.clients) {
      if (c.out.writableLength > this.o.maxBufferedBytes) {
        this.clients.delete(c);
        c.out.end();
        continue;
      }
      c.out.write(text);
    }
  }

  private async beat(): Promise<void> {
    this.send(': heartbeat\n\n');
    for (const c of [...this.clients]) {
      if (!(await c.stillValid().catch(() => true)) && this.clients.has(c)) {
        this.clients.delete(c);
        c.out.end('event: revoked\ndata: {}\n\n');
      }
    }
  }
}
