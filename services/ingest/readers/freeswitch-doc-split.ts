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
  /** The end of the previous chunk, to see a `</cdr>` cut in two by the chunking. */
  let before = '';

  /** The current chunk, and where the open piece's text not yet kept starts in it. */
  let chunk = '';
  let seg = 0;
  /** Keeps the open piece's text up to `end` (exclusive) of the chunk: its head only past the limit. */
  const keep = (end: number): void => {
    if (st.mode !== 'between' && end > seg) {
      size += end - seg;
      if (held < maxDocChars) {
        const text = chunk.slice(seg, Math.min(end, seg + maxDocChars - held));
        parts.push(text);
        held += text.length;
      }
    }
    seg = end;
  };
  const piece = (): string => {
    const text = parts.join('');
    parts = [];
    held = 0;
    return text;
  };
  /** The open piece, ending before `end` of the chunk. */
  const finish = (end: number): DocPiece => {
    keep(end);
    const bytes = size;
    const text = piece();
    size = 0;
    const kind = st.mode === 'json' || st.mode === 'xml' ? st.mode : undefined;
    if (kind === undefined) return { ok: false, line: startLine, text: text.slice(0, KEPT_HEAD), problem: 'stray_text', bytes };
    if (bytes > maxDocChars) return { ok: false, kind, line: startLine, text: text.slice(0, KEPT_HEAD), problem: 'too_large', bytes };
    return { ok: true, kind, line: startLine, text };
  };
  const begin = (kind: DocKind | 'stray', at: number): void => {
    st.mode = kind;
    seg = at;
    st.rootSeen = false;
    startLine = line;
    depth = 0;
    inString = false;
    escaped = false;
  };

  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 16 });
  for await (const next of stream as AsyncIterable<string>) {
    chunk = next;
    seg = 0;
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i]!;
      const lineStart = atLineStart;
      atLineStart = ch === '\n';
      if (lineStart && (st.mode === 'json' || st.mode === 'stray') && ch === '{') {
        if (st.mode === 'json') yield cut(finish(i));
        else yield finish(i);
        begin('json', i);
      } else if (lineStart && (st.mode === 'xml' || st.mode === 'stray') && ch === '<') {
        if (st.mode === 'stray') {
          yield finish(i);
          begin('xml', i);
        } else {
          // Only a new declaration, or a second root, cuts the open document; other tags are lines of it.
          const ahead = chunk.slice(i, i + 5);
          const root = ahead === '<cdr ' || ahead === '<cdr>';
          if (ahead === '<?xml' || (root && st.rootSeen)) {
            yield cut(finish(i));
            begin('xml', i);
          }
          if (root) st.rootSeen = true;
        }
      } else if (st.mode === 'between') {
        if (ch === '{') begin('json', i);
        else if (ch === '<') {
          begin('xml', i);
          st.rootSeen = chunk.startsWith('<cdr', i);
        }
        else if (ch !== ' ' && ch !== '\n' && ch !== '\r' && ch !== '\t' && ch !== '\uFEFF') begin('stray', i);
      }

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
            yield finish(i + 1);
            st.mode = 'between';
          }
        }
      } else if (st.mode === 'xml' && ch === '>') {
        const tail = i >= 5 ? chunk.slice(i - 5, i + 1) : (before + chunk.slice(0, i + 1)).slice(-6);
        if (tail === '</cdr>') {
          yield finish(i + 1);
          st.mode = 'between';
        }
      }
    }
    keep(chunk.length);
    before = chunk.slice(-5);
  }
  chunk = '';
  seg = 0;
  if (st.mode === 'json' || st.mode === 'xml') yield cut(finish(0));
  else if (st.mode === 'stray') yield finish(0);
}

/** An open document that the next one (or the end of the file) interrupted. */
function cut(p: DocPiece): DocPiece {
  if (!p.ok) return p;
  return { ok: false, kind: p.kind, line: p.line, text: p.text.slice(0, KEPT_HEAD), problem: 'cut_short', bytes: p.text.length };
}
