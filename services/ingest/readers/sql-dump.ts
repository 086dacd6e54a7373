/**
 * Reader of SQL dumps of an Asterisk CDR table: what a backup of asteriskcdrdb hands over (mysqldump,
 * phpMyAdmin's SQL export, `pg_dump --inserts`, or pg_dump's own `COPY … FROM stdin`). Rows come from
 * `INSERT INTO cdr [(columns)] VALUES (…),(…);` statements, one tuple at a time, in bounded memory:
 * an extended INSERT holds thousands of rows on one line of megabytes, so lines are not the unit here.
 *
 * Which columns a value is: the INSERT's own column list, else the dump's `CREATE TABLE` of that table,
 * else the stock column order of the table (asterisk-table.ts). Tables that are not Asterisk CDR tables
 * (no calldate, src, dst, channel, billsec, disposition) are passed over: a dump holds many tables.
 * Each tuple then becomes an Asterisk row, billed by the same leg rules as Master.csv.
 *
 * A record's line number is its row's number in the dump (the first row is 1), as an extended INSERT
 * holds its rows on one physical line: rejects stay one per row.
 *
 * Strings follow the dump's dialect: MySQL escapes with backslashes, PostgreSQL (a dump that says
 * `standard_conforming_strings = on`, as pg_dump writes) keeps backslashes as text; both double quotes.
 * No SQL library reads a dump's VALUES as a stream (they parse whole statements), hence this scanner.
 */
import { createReadStream } from 'node:fs';
import { TextDecoder } from 'node:util';
import { DEFAULT_INGEST_LIMITS, type IngestLimits } from '../input-limits.js';
import type { ReadItem } from '../source-record.js';
import type { AsteriskRow } from './asterisk-csv.js';
import { TABLE_FREE_TEXT, rowFromTable, tableLayoutOfHeader, tableLayoutOfRows, type TableLayout } from './asterisk-table.js';

/** Whether the first lines of a file are an SQL dump (a dump's header comment, or its first statement). */
export function looksLikeSqlDump(lines: readonly string[]): boolean {
  return lines.some((l) => /^\s*(--\s*(MySQL dump|MariaDB dump|PostgreSQL database dump|phpMyAdmin SQL Dump)|INSERT\s+INTO\s|CREATE\s+TABLE\s|COPY\s+\S+.*FROM\s+stdin;)/i.test(l));
}

export interface SqlDumpOptions {
  utc?: boolean;
  limits?: IngestLimits;
}

/** Rows of the CDR tables of the dump, and a reject for each tuple that cannot be one. */
export async function* readSqlDumpRows(path: string, opts: SqlDumpOptions = {}): AsyncGenerator<AsteriskRow | ReadItem> {
  const maxTuple = (opts.limits ?? DEFAULT_INGEST_LIMITS).maxLineBytes;
  const created = new Map<string, string[]>();
  /** Per table: its layout once known (null: not a CDR table), or the first rows held until the stock order decides. */
  const layouts = new Map<string, TableLayout | null>();
  const waiting = new Map<string, Tuple[]>();
  let sawCdrTable = false;
  let standardStrings = false;

  function* rowsOf(tuple: Tuple, layout: TableLayout): Generator<AsteriskRow | ReadItem> {
    sawCdrTable = true;
    const billing = new Set([...layout].filter(([name]) => !TABLE_FREE_TEXT.has(name)).map(([, i]) => i));
    const bad = tuple.values.findIndex((v, i) => billing.has(i) && v.includes('\uFFFD'));
    if (bad >= 0) {
      yield reject(path, tuple.line, 'bad_encoding', `value ${bad + 1} of the row is not UTF-8; dump the table as UTF-8 (mysqldump --default-character-set=utf8mb4) and rate it again`, tuple.raw);
      return;
    }
    const parsed = rowFromTable(tuple.line, tuple.raw, tuple.values, layout, opts.utc === true);
    if (!parsed.ok) {
      yield reject(path, tuple.line, parsed.reason, parsed.detail, tuple.raw);
      return;
    }
    if (tuple.values.some((v) => v.includes('\uFFFD'))) parsed.row.notes = ['a name of the row is not UTF-8: decoded with replacement characters'];
    yield parsed.row;
  }
  /** The stock column order decides for a table whose columns no statement names, from its first rows. */
  function* decide(table: string): Generator<AsteriskRow | ReadItem> {
    const held = waiting.get(table) ?? [];
    waiting.delete(table);
    const layout = tableLayoutOfRows(held.map((t) => t.values));
    layouts.set(table, layout);
    if (layout !== null) for (const t of held) yield* rowsOf(t, layout);
  }

  for await (const event of scanDump(path, maxTuple, () => standardStrings)) {
    if (event.kind === 'statement') {
      if (/standard_conforming_strings\s*=\s*'?on/i.test(event.text)) standardStrings = true;
      const create = /^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\S+)\s*\(([\s\S]*)\)/i.exec(event.text);
      if (create !== null) created.set(tableName(create[1]!), columnsOfCreate(create[2]!));
      continue;
    }
    if (event.kind === 'oversize') {
      yield reject(path, event.line, 'too_large', `a row of the dump is over ${maxTuple} bytes (max_line_bytes in config/ingest.yaml); no CDR row is that long: check the dump`, event.head);
      continue;
    }
    const { table, columns, tuple } = event;
    const named = columns ?? created.get(table);
    if (named !== undefined) {
      const layout = tableLayoutOfHeader(named);
      if (layout !== null) yield* rowsOf(tuple, layout);
      continue;
    }
    if (layouts.has(table)) {
      const layout = layouts.get(table)!;
      if (layout !== null) yield* rowsOf(tuple, layout);
      continue;
    }
    const held = waiting.get(table) ?? [];
    held.push(tuple);
    waiting.set(table, held);
    if (held.length >= 20) yield* decide(table);
  }
  for (const table of [...waiting.keys()]) yield* decide(table);
  if (!sawCdrTable) {
    yield reject(path, 0, 'unknown_format', 'the SQL dump has no INSERT into an Asterisk CDR table (columns calldate, src, dst, channel, billsec, disposition…); dump the cdr table of asteriskcdrdb', '');
  }
}

interface Tuple {
  line: number;
  raw: string;
  values: string[];
}

type DumpEvent =
  | { kind: 'statement'; text: string }
  | { kind: 'row'; table: string; columns: string[] | null; tuple: Tuple }
  | { kind: 'oversize'; line: number; head: string };

/**
 * The dump as statements (outside INSERT values: CREATE TABLE, SET…) and rows (each tuple of an INSERT,
 * each line of a COPY), comments passed over. A character loop: strings and comments may hold `;`, `(`.
 */
async function* scanDump(path: string, maxTuple: number, standardStrings: () => boolean): AsyncGenerator<DumpEvent> {
  const decoder = new TextDecoder('utf-8');
  let line = 1;
  let head = '';
  let mode: 'head' | 'values' | 'copy' = 'head';
  let table = '';
  let columns: string[] | null = null;
  // Inside a tuple: its values so far, the value being read, whether it was quoted, where the tuple began.
  let values: string[] | null = null;
  let value = '';
  let quoted = false;
  /** A record's `line` is its row's number in the dump: an extended INSERT holds thousands of rows on one line. */
  let rowNumber = 0;
  let tupleStart = 0;
  let tupleText = '';
  let quote: string | null = null;
  let escaped = false;
  let comment: 'line' | 'block' | null = null;
  let copyLine = '';
  let oversize = false;

  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    const text = decoder.decode(chunk, { stream: true });
    const out: DumpEvent[] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (c === '\n') line++;
      if (mode === 'copy') {
        if (c !== '\n') {
          copyLine += c;
          continue;
        }
        const l = copyLine.replace(/\r$/, '');
        copyLine = '';
        if (l === '\\.') {
          mode = 'head';
          continue;
        }
        out.push({ kind: 'row', table, columns, tuple: { line: ++rowNumber, raw: l, values: l.split('\t').map(copyValue) } });
        continue;
      }
      if (comment !== null) {
        if (comment === 'line' && c === '\n') comment = null;
        else if (comment === 'block' && c === '/' && text[i - 1] === '*') comment = null;
        continue;
      }
      if (mode === 'values' && values !== null) {
        if (!oversize) tupleText += c;
        if (tupleText.length > maxTuple && !oversize) {
          oversize = true;
          out.push({ kind: 'oversize', line: tupleStart, head: tupleText.slice(0, 256) });
        }
        if (quote !== null) {
          if (escaped) {
            value += unescape(c);
            escaped = false;
          } else if (c === '\\' && !standardStrings()) escaped = true;
          else if (c === quote) {
            if (text[i + 1] === quote) {
              value += c;
              i++;
              if (!oversize) tupleText += c;
            } else quote = null;
          } else value += c;
          continue;
        }
        if (c === "'" || c === '"') {
          quote = c;
          quoted = true;
        } else if (c === ',' || c === ')') {
          values.push(quoted ? value : value.trim());
          value = '';
          quoted = false;
          if (c === ')') {
            if (!oversize) out.push({ kind: 'row', table, columns, tuple: { line: tupleStart, raw: tupleText, values } });
            values = null;
            oversize = false;
          }
        } else if (!quoted) value += c;
        continue;
      }
      if (mode === 'values') {
        // Between tuples: `(` opens one, `;` ends the statement.
        if (c === '(') {
          values = [];
          value = '';
          quoted = false;
          tupleStart = ++rowNumber;
          tupleText = '(';
        } else if (c === ';') {
          mode = 'head';
          head = '';
        }
        continue;
      }
      // Statement head.
      if (quote !== null) {
        head += c;
        if (c === quote) quote = null;
        continue;
      }
      if (c === '-' && text[i + 1] === '-' && head.trim() === '') {
        comment = 'line';
        continue;
      }
      if (c === '#' && head.trim() === '') {
        comment = 'line';
        continue;
      }
      if (c === '/' && text[i + 1] === '*') {
        comment = 'block';
        i++;
        continue;
      }
      if (c === "'") quote = c;
      if (c === ';') {
        const copy = /^\s*COPY\s+(\S+)\s*(?:\(([^)]*)\))?\s+FROM\s+stdin$/i.exec(head);
        if (copy !== null) {
          mode = 'copy';
          table = tableName(copy[1]!);
          columns = copy[2] === undefined ? null : splitNames(copy[2]);
          copyLine = '';
          // The rest of this line (its newline) ends the statement.
          if (text[i + 1] === '\n') {
            i++;
            line++;
          }
        } else out.push({ kind: 'statement', text: head });
        head = '';
        continue;
      }
      if (head.length < 1_000_000) head += c;
      if ((c === 'S' || c === 's') && /^\s*INSERT\s+(?:IGNORE\s+)?INTO\s+\S+[\s\S]*\bVALUES$/i.test(head)) {
        const m = /^\s*INSERT\s+(?:IGNORE\s+)?INTO\s+(\S+?)\s*(?:\(([^)]*)\))?\s*VALUES$/i.exec(head);
        table = tableName(m?.[1] ?? '');
        columns = m?.[2] === undefined ? null : splitNames(m[2]);
        mode = 'values';
        values = null;
        head = '';
      }
    }
    yield* out;
  }
}

/** `\`asteriskcdrdb\`.\`cdr\``, `public.cdr`, `"cdr"` → `cdr`. */
function tableName(name: string): string {
  const parts = name.split('.');
  return parts[parts.length - 1]!.replace(/^[`"[]|[`"\]]$/g, '').toLowerCase();
}

function splitNames(list: string): string[] {
  return list.split(',').map((n) => n.trim().replace(/^[`"[]|[`"\]]$/g, ''));
}

/** The column names of a CREATE TABLE body: each definition's first word, keys and constraints left out. */
function columnsOfCreate(body: string): string[] {
  return body
    .split(/,\s*(?:\r?\n|(?=[`"]))/)
    .map((d) => d.trim())
    .filter((d) => d !== '' && !/^(PRIMARY|UNIQUE|KEY|INDEX|CONSTRAINT|FULLTEXT|FOREIGN|CHECK)\b/i.test(d))
    .map((d) => /^[`"]?([^`"\s]+)[`"]?/.exec(d)?.[1] ?? '');
}

function unescape(c: string): string {
  switch (c) {
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case '0':
      return '\0';
    case 'Z':
      return '\x1a';
    default:
      return c;
  }
}

/** A COPY text value: `\N` is NULL, backslash escapes otherwise. */
function copyValue(v: string): string {
  if (v === '\\N') return 'NULL';
  return v.replace(/\\(.)/g, (_m, c: string) => unescape(c));
}

function reject(source: string, line: number, reason: 'bad_encoding' | 'too_large' | 'unknown_format' | 'bad_time' | 'bad_field' | 'column_count', detail: string, raw: string): ReadItem {
  return { kind: 'reject', reject: { source, line, reason, detail, raw } };
}
