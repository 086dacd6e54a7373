/**
 * A slow or huge query cannot take `cdr serve` down: requests beyond the in-flight bound are refused
 * with 503 and Retry-After (and the bound is released once they end), and on PostgreSQL every statement
 * of the desk's connections is stopped by statement_timeout.
 */
import pino from 'pino';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config/load-config.js';
import { buildServer } from '../../services/api/server.js';
import { withStatementTimeout } from '../../services/api/open-store.js';
import { createToken } from '../../services/store/desk/api-tokens.js';
import { openPostgres } from '../../services/store/sql.js';
import { ADMIN_URL, openTestStore, type TestStore } from './support/stores.js';

describe('bounds of cdr serve', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore('embedded');
  });
  afterAll(async () => {
    await store?.close();
  });

  it('refuses requests beyond the in-flight bound with 503 and serves again once they end', async () => {
    const app = await buildServer({ sql: store.sql, store: store.origin, directory: loadConfig('config').directory, logger: pino({ level: 'silent' }), maxInFlight: 2 });
    const token = await createToken(store.sql, 'busy', 'analyst', 'test', Date.now());
    const headers = { authorization: `Bearer ${token}` };
    const answers = await Promise.all(Array.from({ length: 12 }, () => app.inject({ method: 'GET', url: '/api/v1/alerts', headers })));
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses).toContain(503);
    expect(statuses).toContain(200);
    const busy = answers.find((a) => a.statusCode === 503)!;
    expect(busy.headers['retry-after']).toBe('1');
    expect(busy.json().error).toBe('busy');
    for (let i = 0; i < 5; i++) expect((await app.inject({ method: 'GET', url: '/api/v1/alerts', headers })).statusCode).toBe(200);
    await app.close();
  });

  it('stops a slow PostgreSQL statement of the desk instead of letting it run', async () => {
    const name = `desk_timeout_${process.pid}_${Date.now()}`;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const sql = await openPostgres(withStatementTimeout(ADMIN_URL.replace(/\/[^/]*$/, `/${name}`), 200));
    try {
      await expect(sql.query('SELECT pg_sleep(2)')).rejects.toThrow(/statement timeout/);
      expect(await sql.query<{ ok: number }>('SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
    } finally {
      await sql.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});
