/**
 * A SIP scanner against a Kamailio proxy (issue 21): 5,400 INVITEs in four hours from a caller no
 * directory knows, each refused by the proxy (`call missed`, 404), beside the ordinary calls of a known
 * line. The scanner's attempts are rightly not billed, and the desk sees their volume; the line's calls
 * are billed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../services/api/server.js';
import { loadConfig } from '../../services/config/load-config.js';
import { createToken } from '../../services/store/desk/api-tokens.js';
import { openSqlite, sqliteSql } from '../../services/store/sqlite.js';
import { cdr } from '../support/cdr-cli.js';

const T0 = Date.parse('2026-03-10T01:00:00Z') / 1000;
const prefix = (t: number) => `Mar 10 ${new Date(t * 1000).toISOString().slice(11, 19)} sbc kamailio[812]: NOTICE: acc [acc.c:287]: acc_log_request(): ACC: `;

/** acc's log lines: the scanner's refused INVITEs, and two answered calls of tcx01-u1001 with their BYEs. */
function accLog(): string {
  const lines: string[] = [];
  for (let i = 0; i < 5400; i++) {
    const t = T0 + Math.floor((i * 4 * 3600) / 5400);
    const callee = `00972${String(590_000_000 + ((i * 7919) % 9_999_999)).padStart(9, '0')}`;
    lines.push(`${prefix(t)}call missed: timestamp=${t};method=INVITE;from_tag=s${i};to_tag=;call_id=scan-${i}@203.0.113.7;code=404;reason=Not Found;src_user=friendly-scanner;src_domain=203.0.113.7;src_ip=203.0.113.7;dst_ouser=${callee};dst_user=${callee}`);
  }
  for (const [k, t] of [[1, T0 + 600], [2, T0 + 5400]] as const) {
    const tags = `from_tag=f${k};to_tag=t${k};call_id=real-${k}@10.0.0.5`;
    const extra = 'src_user=+33247501001;src_domain=10.0.0.5;src_ip=10.0.0.5;dst_ouser=+33145000001;dst_user=+33145000001';
    lines.push(`${prefix(t)}transaction answered: timestamp=${t};method=INVITE;${tags};code=200;reason=OK;${extra}`);
    lines.push(`${prefix(t + 120)}transaction answered: timestamp=${t + 120};method=BYE;${tags};code=200;reason=OK;${extra}`);
  }
  return `${lines.join('\n')}\n`;
}

describe('a SIP scanner: not billed, and seen on the desk', () => {
  let work: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'cdr-scanner-'));
    writeFileSync(join(work, 'acc.log'), accLog());
    cdr(['rate', '--data', join(work, 'data'), '--out', join(work, 'out'), '--subscribers', 'config/subscribers.csv', join(work, 'acc.log')]);
  }, 60_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("bills the line's two calls and none of the scanner's 5,400 attempts", () => {
    const rated = Papa.parse<Record<string, string>>(readFileSync(join(work, 'out', 'run-000001', 'rated.csv'), 'utf8'), { header: true, skipEmptyLines: true }).data;
    expect(rated.map((r) => r.cdr_id!.split(';')[0]).sort()).toEqual(['real-1@10.0.0.5', 'real-2@10.0.0.5']);
  });

  it('shows the desk the 5,400 attempts read and not billed, with their file and reason', async () => {
    const sql = sqliteSql(openSqlite(join(work, 'data')));
    const config = loadConfig('config');
    const app = await buildServer({ sql, store: { data: join(work, 'data') }, directory: config.directory, logger: pino({ level: 'silent' }), numbering: config.numbering, fraud: config.fraud });
    try {
      const token = await createToken(sql, 'ana', 'analyst', 'test', Date.now());
      const r = await app.inject({ method: 'GET', url: '/api/v1/rejects', headers: { authorization: `Bearer ${token}` } });
      expect(r.json()).toEqual({ total: 5400, groups: [{ source: join(work, 'acc.log'), reason: 'unknown_subscriber', count: 5400 }] });
      // Counts only: no number of the scanner's leaves the store this way.
      expect(r.body).not.toMatch(/00972/);
    } finally {
      await app.close();
      await sql.close();
    }
  });
});
