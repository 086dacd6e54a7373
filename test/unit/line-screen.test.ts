/**
 * The readers screen whole chunks of a file at once (frameTextLines) and fall back to line-by-line
 * checks when a chunk is not clean. Whatever the bytes and wherever the chunk boundaries fall, every
 * line must come out exactly as the line-by-line path gives it: the same text for a clean line, the
 * same bytes (or head and length, for an oversize line) for any other.
 */
import { Buffer } from 'node:buffer';
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cleanText, frameLines, frameTextLines, type FramedLine } from '../../services/ingest/line-bytes.js';
import { tempDir } from '../support/tmp.js';

const file = tempDir();
const MAX_LINE = 200;

interface Seen {
  line: number;
  text?: string;
  bytes?: string;
  oversize?: number;
  offset?: number;
}

/** The line-by-line reading: each framed line, and its text when cleanText accepts it. */
async function lineByLine(path: string, chunk: number): Promise<Seen[]> {
  const out: Seen[] = [];
  for await (const lines of frameLines(path, MAX_LINE, chunk)) for (const f of lines) out.push(seen(f));
  return out;
}

async function screened(path: string, chunk: number): Promise<Seen[]> {
  const out: Seen[] = [];
  for await (const { firstLine, lines } of frameTextLines(path, MAX_LINE, chunk)) {
    lines.forEach((l, i) => {
      if (typeof l === 'string') out.push({ line: firstLine + i, text: l });
      else {
        expect(l.line).toBe(firstLine + i);
        out.push(seen(l));
      }
    });
  }
  return out;
}

function seen(f: FramedLine): Seen {
  if (f.oversize !== undefined) return { line: f.line, bytes: f.bytes.toString('hex'), oversize: f.oversize.length, offset: f.offset };
  const text = cleanText(f.bytes);
  return text !== null ? { line: f.line, text } : { line: f.line, bytes: f.bytes.toString('hex') };
}

const cleanLine = fc.stringMatching(/^[a-z0-9,+:\- "é€😀]{0,40}$/);
const dirt = fc.constantFrom('\x00', '\r', '\x1b', '\x7f', '\t', '\uFEFF');
const rawBytes = fc.oneof(
  cleanLine.map((s) => Buffer.from(s)),
  fc.tuple(cleanLine, dirt, cleanLine).map(([a, d, b]) => Buffer.from(a + d + b)),
  fc.tuple(cleanLine, fc.constantFrom(0xe9, 0xc3, 0xff, 0xed, 0xf0), cleanLine).map(([a, b, c]) => Buffer.concat([Buffer.from(a), Buffer.from([b]), Buffer.from(c)])),
  fc.integer({ min: MAX_LINE - 3, max: MAX_LINE * 3 }).map((n) => Buffer.alloc(n, 'x')),
  fc.integer({ min: 60, max: 70 }).map((n) => Buffer.from('€'.repeat(n))),
);
const fileBytes = fc
  .tuple(fc.array(fc.tuple(rawBytes, fc.constantFrom('\n', '\r\n', '\n', '\r\r\n')), { maxLength: 60 }), fc.boolean(), fc.boolean(), rawBytes)
  .map(([lines, bom, unterminated, last]) =>
    Buffer.concat([bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), ...lines.flatMap(([b, end]) => [b, Buffer.from(end)]), unterminated ? last : Buffer.alloc(0)]),
  );

describe('chunk screening', () => {
  it('gives every line exactly as the line-by-line checks do, at any chunk size', async () => {
    await fc.assert(
      fc.asyncProperty(fileBytes, fc.constantFrom(7, 64, 333, 4096, 65536), async (bytes, chunk) => {
        const path = file('screen.csv');
        writeFileSync(path, bytes);
        expect(await screened(path, chunk)).toEqual(await lineByLine(path, chunk));
      }),
      { numRuns: 1500 },
    );
  });

  it('takes the clean lines of a chunk as text, and still finds the one bad line in it', async () => {
    const path = file('mixed.csv');
    const lines = Array.from({ length: 50 }, (_, i) => `line-${i},é`);
    lines[30] = 'bad\x00line';
    writeFileSync(path, lines.join('\r\n') + '\r\n');
    const got = await screened(path, 65536);
    expect(got).toHaveLength(50);
    expect(got[30]).toEqual({ line: 31, bytes: Buffer.from('bad\x00line').toString('hex') });
    expect(got.filter((l) => l.text !== undefined).map((l) => l.text)).toEqual(lines.filter((_, i) => i !== 30));
  });
});
