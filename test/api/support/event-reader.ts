/**
 * Reads a desk event stream (GET /api/v1/events) the way the page does: fetch() with the bearer header,
 * the text/event-stream body parsed into events as they arrive.
 */
export interface StreamEvent {
  event: string;
  data: string;
}

export interface EventReader {
  status: number;
  contentType: string;
  events: StreamEvent[];
  comments: string[];
  /** Resolves with the first event (already read or to come) that satisfies `test`, or rejects after `ms`. */
  waitFor(test: (e: StreamEvent) => boolean, ms: number): Promise<StreamEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

export async function readEvents(url: string, token: string): Promise<EventReader> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: abort.signal });
  const events: StreamEvent[] = [];
  const comments: string[] = [];
  const waiters: { test: (e: StreamEvent) => boolean; ok: (e: StreamEvent) => void }[] = [];
  const ended = (async () => {
    if (!res.ok || res.body === null) {
      await res.text().catch(() => '');
      return;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { value: chunk, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const e: StreamEvent = { event: 'message', data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) e.event = line.slice(7);
            else if (line.startsWith('data: ')) e.data += line.slice(6);
          }
          if (block.split('\n').every((l) => l.startsWith(':'))) continue;
          events.push(e);
          for (const w of [...waiters]) if (w.test(e)) { waiters.splice(waiters.indexOf(w), 1); w.ok(e); }
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    events, comments, ended,
    waitFor(test, ms) {
      const seen = events.find(test);
      if (seen) return Promise.resolve(seen);
      return new Promise((ok, fail) => {
        const t = setTimeout(() => fail(new Error(`no matching event within ${ms} ms; got ${JSON.stringify(events)}`)), ms);
        waiters.push({ test, ok: (e) => { clearTimeout(t); ok(e); } });
      });
    },
    close: () => abort.abort(),
  };
}

/** The changes a `change` event carries. */
export function changesOf(e: StreamEvent): Record<string, string>[] {
  return e.event === 'change' ? (JSON.parse(e.data) as { changes: Record<string, string>[] }).changes : [];
}
