/**
 * Cuts a file into the FreeSWITCH CDR documents it holds: one (`a_<uuid>.cdr.json` as mod_json_cdr
 * writes it to its log-dir, `<uuid>.cdr.xml` from mod_xml_cdr), or several concatenated (`cat *.cdr.json`,
 * a spool of many calls). The file is streamed; only the document being read is held.
 *
 * Why a splitter of our own: a streaming JSON library (stream-json, @streamparser/json) gives parsed
 * values, not the text and line of each document, which a reject must keep so that it can be fixed and
 * replayed; finding where a document ends only needs its braces outside strings. mod_json_cdr writes a
 * document on one line (cJSON_PrintUnformatted), so a `{` at the start of a line while one is still open
 * starts the next one: a document cut short (a switch stopped while writing) costs only itself.
 * An XML document ends at `</cdr>` (its variables are URL-encoded, so the text cannot hold that tag);
 * a new `<?xml` or `<cdr` at the start of a line while one is open likewise cuts it short.
 */
import { createReadStream } from 'node:fs';

export type DocKind = 'json' | 'xml';

export type DocPiece =
  | { ok: true; kind: DocKind; line: number; text: string }
  /** Not a document: text between documents, a document cut short, or one over the size limit. */
  | { ok: false; line: number; text: string; problem: 'stray_text' | 'cut_short' | 'too_large'; kind?: DocKind; bytes: number };

/** How much of a refused piece is kept as its raw text. */
const KEPT_HEAD = 2048;

export async function* splitDocuments(path: string, maxDocChars: number): AsyncGenerator<DocPiece> {
  // In an object: TypeScript would narrow a `let` across the closures that change it.
  const st: { mode: DocKind | 'between' | 'stray'; rootSeen: boolean } = { mode: 'between', rootSeen: false };
  let parts: string[] = [];
  let held = 0;
  let size = 0;
  let startLine = 1;
  let line = 1;
  let atLineStart = true;
  let depth = 0;
  let inString = false;
  let escaped = false;
  /** The last characters read, to see `</cdr>` and `<?xml` arrive across chunks. */
  let tail = '';

  const take = (ch: string): void => {
    size++;
    if (held < maxDocChars) {
      parts.push(ch);
      held++;
    }
  };
  const piece = (): string => {
    const text = parts.join('');
    parts = [];
    held = 0;
    return text;
  };
  const finish = (): DocPiece => {
    const bytes = size;
    const text = piece();
    size = 0;
    const kind = st.mode === 'json' || st.mode === 'xml' ? st.mode : undefined;
    if (kind === undefined) return { ok: false, line: startLine, text: text.slice(0, KEPT_HEAD), problem: 'stray_text', bytes };
    if (bytes > maxDocChars) return { ok: false, kind, line: startLine, text: text.slice(0, KEPT_HEAD), problem: 'too_large', bytes };
    return { ok: true, kind, line: startLine, text };
  };
  const begin = (kind: DocKind | 'stray'): void => {
    st.mode = kind;
    st.rootSeen = false;
    startLine = line;
    depth = 0;
    inString = false;
    escaped = false;
    tail = '';
  };

  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 16 });
  for await (const chunk of stream as AsyncIterable<string>) {
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i]!;
      const lineStart = atLineStart;
      atLineStart = ch === '\n';
      if (lineStart && (st.mode === 'json' || st.mode === 'stray') && ch === '{') {
        if (st.mode === 'json') yield cut(finish());
        else yield finish();
        begin('json');
      } else if (lineStart && (st.mode === 'xml' || st.mode === 'stray') && ch === '<') {
        if (st.mode === 'stray') {
          yield finish();
          begin('xml');
        } else {
          // Only a new declaration, or a second root, cuts the open document; other tags are lines of it.
          const ahead = chunk.slice(i, i + 5);
          const root = ahead === '<cdr ' || ahead === '<cdr>';
          if (ahead === '<?xml' || (root && st.rootSeen)) {
            yield cut(finish());
            begin('xml');
          }
          if (root) st.rootSeen = true;
        }
      } else if (st.mode === 'between') {
        if (ch === '{') begin('json');
        else if (ch === '<') {
          begin('xml');
          st.rootSeen = chunk.startsWith('<cdr', i);
        }
        else if (!/\s/.test(ch)) begin('stray');
      }

      if (st.mode !== 'between') take(ch);
      if (ch === '\n') line++;

      if (st.mode === 'json') {
        if (inString) {
          if (escaped) escaped = false;
          else if (ch === '\\') escaped = true;
          else if (ch === '"') inString = false;
          else if (ch === '\n') inString = false; // JSON strings hold no newline: the document is broken
        } else if (ch === '"') inString = true;
        else if (ch === '{' || ch === '[') depth++;
        else if (ch === '}' || ch === ']') {
          depth--;
          if (depth === 0) {
            yield finish();
            st.mode = 'between';
          }
        }
      } else if (st.mode === 'xml') {
        tail = (tail + ch).slice(-6);
        if (tail === '</cdr>') {
          yield finish();
          st.mode = 'between';
        }
      }
    }
  }
  if (st.mode === 'json' || st.mode === 'xml') yield cut(finish());
  else if (st.mode === 'stray') yield finish();
}

/** An open document that the next one (or the end of the file) interrupted. */
function cut(p: DocPiece): DocPiece {
  if (!p.ok) return p;
  return { ok: false, kind: p.kind, line: p.line, text: p.text.slice(0, KEPT_HEAD), problem: 'cut_short', bytes: p.text.length };
}
