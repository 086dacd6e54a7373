/**
 * The floor of the embedded run's work (issue 22), in its own process: what `cdr rate` cannot do less
 * than, done on one thread and nothing else. Each canonical CSV row is read with uDSV, its times made
 * epoch milliseconds, priced by the longest prefix of its callee in one tariff (per started minute, in
 * integer ten-thousandths of a euro), inserted into SQLite with the columns `cdr rate` keeps for a call
 * (better-sqlite3, WAL, synchronous NORMAL, a unique cdr_id and a (client, period) index, one
 * transaction per 25,000 rows) and written as a rated.csv line of the same columns. No fair use, no
 * fraud, no explanation, no duplicate check beyond the unique index: `cdr rate` does all of that too,
 * and the bench prints its rate as a ratio to this one.
 *
 * Argv: dataDir outDir subscribers tariffYaml file…; prints one JSON line on stdout.
 */
import { createReadStream, createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { inferSchema, initParser, type Parser } from 'udsv';
import { parse } from 'yaml';

const [dataDir, outDir, subscribers, tariffFile, ...files] = process.argv.slice(2);
const TX_ROWS = 25_000;

const started = performance.now();
const clientOf = new Map<string, string>();
for (const line of readFileSync(subscribers!, 'utf8').split('\n').slice(1)) {
  const [account, client] = line.split(',');
  if (account && client) clientOf.set(account, client);
}
type Entry = { name: string; per_minute: string; prefix?: string };
const tariff = parse(readFileSync(tariffFile!, 'utf8')) as { default: Entry; entries: Entry[] };
type Rate = { name: string; units: number };
const rateOf = (e: Entry): Rate => ({ name: e.name, units: Math.round(Number(e.per_minute) * 10_000) });
const byPrefix = new Map<string, Rate>();
for (const e of tariff.entries) if (e.prefix !== undefined) byPrefix.set(e.prefix, rateOf(e));
const fallback = rateOf(tariff.default);
const longestPrefix = Math.max(...[...byPrefix.keys()].map((p) => p.length));

function destination(callee: string): Rate {
  const digits = callee.startsWith('+') ? callee.slice(1) : callee;
  for (let n = Math.min(longestPrefix, digits.length); n > 0; n--) {
    const r = byPrefix.get(digits.slice(0, n));
    if (r !== undefined) return r;
  }
  return fallback;
}

function price(rate: Rate, seconds: number): string {
  const units = Math.ceil(seconds / 60) * rate.units;
  return `${Math.floor(units / 10_000)}.${String(units % 10_000).padStart(4, '0')}`;
}

mkdirSync(dataDir!, { recursive: true });
mkdirSync(outDir!, { recursive: true });
const db = new Database(join(dataDir!, 'floor.sqlite'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`CREATE TABLE rated (seq INTEGER PRIMARY KEY, cdr_id TEXT NOT NULL UNIQUE, client_id TEXT NOT NULL, period TEXT NOT NULL,
           start_time INTEGER NOT NULL, answer_time INTEGER, end_time INTEGER NOT NULL, caller TEXT NOT NULL, callee TEXT NOT NULL,
           destination TEXT NOT NULL, billable_seconds INTEGER NOT NULL, disposition TEXT NOT NULL, direction TEXT NOT NULL,
           leg TEXT NOT NULL, forward_reason TEXT, device TEXT NOT NULL, priced_seconds INTEGER NOT NULL, amount TEXT NOT NULL,
           currency TEXT NOT NULL, source TEXT NOT NULL, source_line INTEGER NOT NULL);
         CREATE INDEX rated_client_period ON rated (client_id, period);`);
const COLUMNS = 20;
const insert = db.prepare(`INSERT INTO rated VALUES (NULL, ${Array(COLUMNS).fill('?').join(', ')})`);
const commit = db.transaction((rows: unknown[][]) => {
  for (const r of rows) insert.run(r);
});
const csv = createWriteStream(join(outDir!, 'rated.csv'), { highWaterMark: 1 << 20 });
csv.write('cdr_id,client_id,period,start_time,answer_time,end_time,caller,callee,destination,billable_seconds,disposition,direction,leg,forward_reason,device,priced_seconds,amount,currency,source,source_line\n');

let rows = 0;
let pending: unknown[][] = [];
let lines: string[] = [];
const flush = async () => {
  commit(pending);
  if (!csv.write(lines.join(''))) await new Promise<void>((r) => csv.once('drain', () => r()));
  pending = [];
  lines = [];
};
for (const file of files) {
  let parser: Parser | null = null;
  let col: Record<string, number> = {};
  let line = 0;
  for await (const block of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    if (parser === null) {
      const schema = inferSchema(block as string);
      parser = initParser(schema);
      col = Object.fromEntries(schema.cols.map((c, i) => [c.name, i]));
    }
    parser.chunk<string[]>(block as string, parser.stringArrs, (f) => {
      const start = f[col.start_time!]!;
      const answer = f[col.answer_time!]!;
      const seconds = Number(f[col.billable_seconds!]);
      const callee = f[col.callee!]!;
      const dest = destination(callee);
      const row = [
        f[col.cdr_id!]!, clientOf.get(f[col.account!]!) ?? '', start.slice(0, 7), Date.parse(start), answer === '' ? null : Date.parse(answer),
        Date.parse(f[col.end_time!]!), f[col.caller!]!, callee, dest.name, seconds, f[col.disposition!]!, f[col.direction!]!, f[col.leg!]!,
        f[col.forward_reason!] || null, f[col.device!]!, Math.ceil(seconds / 60) * 60, price(dest, seconds), 'EUR', file, ++line,
      ];
      pending.push(row);
      lines.push(`${row.map((v) => (v === null ? '' : typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v)).join(',')}\n`);
      rows++;
    });
    if (pending.length >= TX_ROWS) await flush();
  }
  parser?.end();
}
await flush();
await new Promise<void>((r) => csv.end(() => r()));
db.close();
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage();
process.stdout.write(JSON.stringify({ rows, seconds, perSecond: rows / seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 }) + '\n');
