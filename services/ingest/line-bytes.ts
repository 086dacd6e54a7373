/**
 * The byte layer under every reader: physical lines cut from the file's bytes in bounded memory, and
 * the checks that decide whether a line is text we may read (UTF-8, no control byte) before any CSV
 * parser or the store sees it. A line that fails is kept exactly, as base64, so that it can be
 * recovered and fixed.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';

/** A physical line: its bytes (LF or CRLF removed), or only its first bytes when it is over the limit. */
export type FramedLine =
  | { line: number; offset: number; bytes: Buffer; oversize?: undefined }
  | { line: number; offset: number; bytes: Buffer; oversize: { length: number } };

/** How much of an oversize line is kept to show in its reject. */
export const OVERSIZE_HEAD_BYTES = 256;

/**
 * Lines of `path`, a chunk's worth at a time. A line longer than `maxLineBytes` is not held: its first
 * bytes are kept and the rest skipped up to the next LF. Line ends are LF and CRLF (what switches
 * write); a lone CR inside a line is a control byte for `lineProblem`.
 */
export async function* frameLines(path: string, maxLineBytes: number, chunkBytes = CHUNK_BYTES): AsyncGenerator<FramedLine[]> {
  for await (const { lines } of frame(path, maxLineBytes, false, chunkBytes)) yield lines.filter((l): l is FramedLine => typeof l !== 'string');
}

/**
 * The same lines, with those already known to be clean text given as their text: `lines[i]` is line
 * `firstLine + i`, a string when it is clean UTF-8 text without a control byte and within the limit
 * (its CR removed), else its bytes for the checks of `cleanText` and `lineProblem`.
 *
 * Why: an export is nearly always clean, and screening a whole chunk at once (one UTF-8 check, one
 * decode, one scan for control bytes, one split) costs a fraction of doing each per line. A chunk
 * that fails the screen is framed line by line, so the lines that fail are found and kept exactly.
 */
export async function* frameTextLines(path: string, maxLineBytes: number, chunkBytes = CHUNK_BYTES): AsyncGenerator<{ firstLine: number; lines: (string | FramedLine)[] }> {
  yield* frame(path, maxLineBytes, true, chunkBytes);
}

/** Bytes read at a time (the tests use small chunks to cross their boundaries). */
const CHUNK_BYTES = 256 * 1024;

async function* frame(path: string, maxLineBytes: number, screen: boolean, chunkBytes: number): AsyncGenerator<{ firstLine: number; lines: (string | FramedLine)[] }> {
  const stream = createReadStream(path, { highWaterMark: chunkBytes });
  let parts: Buffer[] = [];
  let length = 0;
  let head: Buffer | null = null;
  let lineNo = 1;
  let lineStart = 0;
  let position = 0;
  const finish = (): FramedLine => {
    let bytes: Buffer = head ?? (parts.length === 1 ? parts[0]! : Buffer.concat(parts, length));
    if (head === null && bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    if (lineNo === 1 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    // The slack byte kept for a CR is not a byte more for the line itself.
    if (head === null && bytes.length > maxLineBytes) head = bytes.subarray(0, OVERSIZE_HEAD_BYTES);
    const framed: FramedLine = head === null ? { line: lineNo, offset: lineStart, bytes } : { line: lineNo, offset: lineStart, bytes: head, oversize: { length } };
    parts = [];
    length = 0;
    head = null;
    lineNo++;
    return framed;
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const out: (string | FramedLine)[] = [];
      const firstLine = lineNo;
      let screened = !screen;
      let from = 0;
      while (from <= chunk.length) {
        const nl = chunk.indexOf(0x0a, from);
        const piece = chunk.subarray(from, nl < 0 ? chunk.length : nl);
        if (head === null) {
          // One byte of slack for the CR of a CRLF line.
          if (length + piece.length > maxLineBytes + 1) head = Buffer.concat([...parts, piece]).subarray(0, OVERSIZE_HEAD_BYTES);
          else if (piece.length > 0) parts.push(piece);
        }
        length += piece.length;
        if (nl < 0) break;
        out.push(finish());
        lineStart = position + nl + 1;
        from = nl + 1;
        if (!screened) {
          // The whole lines after the first of the chunk (which may have begun in the previous chunk), at once.
          screened = true;
          const last = chunk.lastIndexOf(0x0a);
          const texts = last < from ? null : cleanLines(chunk.subarray(from, last + 1), maxLineBytes);
          if (texts !== null) {
            for (const t of texts) out.push(t);
            lineNo += texts.length;
            lineStart = position + last + 1;
            from = last + 1;
          }
        }
      }
      position += chunk.length;
      if (out.length > 0) yield { firstLine, lines: out };
    }
    if (length > 0 || head !== null) {
      const firstLine = lineNo;
      yield { firstLine, lines: [finish()] };
    }
  } finally {
    stream.destroy();
  }
}

/**
 * What `cleanText` refuses, in a block of LF-ended lines: a control byte other than LF and CR, and a CR
 * that does not end a CRLF line (two tests: a class alone scans a third faster than with the alternative).
 */
const BLOCK_CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
const LONE_CR = /\r(?!\n)/;

/** The lines of `block` (whole lines, the last ending with LF) as text, or null if any is not clean or is over the limit. */
function cleanLines(block: Buffer, maxLineBytes: number): string[] | null {
  if (!isUtf8(block)) return null;
  const text = block.toString('utf8');
  if (BLOCK_CONTROL.test(text)) return null;
  const crlf = text.includes('\r');
  if (crlf && LONE_CR.test(text)) return null;
  const lines = text.split('\n');
  lines.pop();
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i]!;
    if (crlf && l.endsWith('\r')) lines[i] = l = l.slice(0, -1);
    // A UTF-16 unit is at most 3 bytes of UTF-8: only a long line needs its bytes counted.
    if (l.length * 3 > maxLineBytes && Buffer.byteLength(l, 'utf8') > maxLineBytes) return null;
  }
  return lines;
}

/** C0 controls except TAB (a delimiter some exports use), and DEL. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** The line's text when it is clean (well-formed UTF-8, no control character), else null: the fast path. */
export function cleanText(bytes: Buffer): string | null {
  if (!isUtf8(bytes)) return null;
  const text = bytes.toString('utf8');
  return CONTROL.test(text) ? null : text;
}

/** Why `bytes` is not a line of text we read, or null when it is. */
export function lineProblem(bytes: Buffer, delimiter: string): string | null {
  if (!isUtf8(bytes)) {
    const at = firstInvalidUtf8(bytes);
    return `invalid UTF-8 at byte ${at + 1} of the line (${columnAt(bytes, at, delimiter)}): the export is not UTF-8 (Latin-1 or Windows-1252?); convert it (iconv -f WINDOWS-1252 -t UTF-8) and rate it again`;
  }
  const control = firstControlByte(bytes);
  if (control >= 0) {
    const b = bytes[control]!;
    const at = `at byte ${control + 1} of the line (${columnAt(bytes, control, delimiter)})`;
    if (b === 0x0d) return `carriage return (0x0D) inside the line ${at}: lines end with LF or CRLF (a file with CR-only line ends must be converted, e.g. tr '\\r' '\\n')`;
    const name = b === 0 ? 'NUL byte (0x00)' : `control byte 0x${b.toString(16).padStart(2, '0').toUpperCase()}`;
    return `${name} ${at}: a record never holds one (a file padded after a crash, or a corrupted copy); fix or drop the line and rate it again`;
  }
  return null;
}

/** The line as it may be stored and shown: text when it is clean text, else base64 of its bytes. */
export function storableRaw(bytes: Buffer): { raw: string; rawEncoding?: 'base64' } {
  const text = cleanText(bytes);
  return text !== null ? { raw: text } : { raw: bytes.toString('base64'), rawEncoding: 'base64' };
}

function firstControlByte(bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if ((b < 0x20 && b !== 0x09) || b === 0x7f) return i;
  }
  return -1;
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence (RFC 3629). */
function firstInvalidUtf8(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let n = 0;
    let min = 0;
    if (b < 0x80) n = 0;
    else if (b >= 0xc2 && b <= 0xdf) (n = 1), (min = 0x80);
    else if (b >= 0xe0 && b <= 0xef) (n = 2), (min = 0x800);
    else if (b >= 0xf0 && b <= 0xf4) (n = 3), (min = 0x10000);
    else return i;
    let cp = n === 0 ? b : b & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return bytes.length;
}

/** "column N", counting delimiters before `at` (quotes ignored: a hint for the reader of the reject). */
function columnAt(bytes: Buffer, at: number, delimiter: string): string {
  const d = delimiter.charCodeAt(0);
  let column = 1;
  for (let i = 0; i < at; i++) if (bytes[i] === d) column++;
  return `about column ${column}`;
}
