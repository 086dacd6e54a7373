/**
 * Issue 23.9, hardening of `cdr serve`: security headers on every answer, no-store on the API, a limit
 * on failed tokens per client address (429 with Retry-After), unknown routes answering 401 without a
 * token like known ones, and phone numbers masked in the log in every written form.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config/load-config.js';
import { MAX_FAILURES, WINDOW_MS } from '../../services/api/auth-throttle.js';
import { deskLogger } from '../../services/api/log-masking.js';
import { buildServer } from '../../services/api/server.js';
import { createToken } from '../../services/store/desk/api-tokens.js';
import { ACCOUNT, NOW, seedWorld } from './support/desk-world.js';
import { openTestStore, STORE_KINDS, type TestStore } from './support/stores.js';

describe.each(STORE_KINDS)('hardening of cdr serve (%s store)', (kind) => {
  let store: TestStore;
  let app: FastifyInstance;
  let token: string;
  let clock = NOW;
  const logs: string[] = [];

  beforeAll(async () => {
    store = await openTestStore(kind);
    await seedWorld(store);
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { logs.push(chunk.toString()); done(); } });
    app = await buildServer({ sql: store.sql, store: store.origin, directory: loadConfig('config').directory, logger: deskLogger('info', sink), now: () => clock });
    token = await createToken(store.sql, 'ana', 'analyst', 'test', NOW);
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  const get = (url: string, headers: Record<string, string> = {}, remoteAddress = '192.0.2.1') => app.inject({ method: 'GET', url, headers, remoteAddress });
  const auth = () => ({ authorization: `Bearer ${token}` });

  it('sends a content security policy, no framing, no sniffing and no referrer, on the page, the API and its refusals', async () => {
    for (const answer of [await get('/'), await get('/api/v1/alerts', auth()), await get('/api/v1/alerts')]) {
      const csp = String(answer.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(answer.headers['x-frame-options']).toBe('DENY');
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect(answer.headers['referrer-policy']).toBe('no-referrer');
    }
  });

  it('keeps API answers out of caches (Cache-Control: no-store), the refusals and /metrics included', async () => {
    for (const answer of [await get('/api/v1/alerts', auth()), await get('/api/v1/barring.txt', auth()), await get('/api/v1/alerts'), await get('/api/v1/nope', auth()), await get('/metrics', auth())]) {
      expect(answer.headers['cache-control'], answer.raw.req.url).toBe('no-store');
    }
  });

  it('answers an unknown route 401 without a token, like a known one, and 404 only to a token holder', async () => {
    const known = await get('/api/v1/alerts');
    for (const url of ['/api/v1/nope', '/api/v2/alerts', '/admin', '/api/v1/alerts/al-crit/delete']) {
      const unknown = await get(url);
      expect(unknown.statusCode, url).toBe(401);
      expect(unknown.json()).toEqual(known.json());
      expect(unknown.headers['www-authenticate']).toBe(known.headers['www-authenticate']);
      expect((await get(url, auth())).statusCode, url).toBe(404);
    }
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/alerts/al-crit' })).statusCode).toBe(401);
  });

  it('answers 429 with Retry-After to an address that tried too many unknown tokens, valid ones included, until the window ends', async () => {
    const guesser = '198.51.100.9';
    for (let i = 0; i < MAX_FAILURES; i++) expect((await get('/api/v1/barring.txt', { authorization: `Bearer guess-${i}` }, guesser)).statusCode).toBe(401);
    const refused = await get('/api/v1/barring.txt', { authorization: 'Bearer guess-next' }, guesser);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(WINDOW_MS / 1000);
    expect(refused.json()).toMatchObject({ error: 'too_many_failed_tokens' });
    // The guesser cannot use the time to try a real token; an analyst elsewhere is not affected.
    expect((await get('/api/v1/barring.txt', auth(), guesser)).statusCode).toBe(429);
    expect((await get('/api/v1/nope', {}, guesser)).statusCode).toBe(429);
    expect((await get('/api/v1/barring.txt', auth(), '192.0.2.77')).statusCode).toBe(200);
    clock += WINDOW_MS + 1_000;
    expect((await get('/api/v1/barring.txt', auth(), guesser)).statusCode).toBe(200);
  });

  it('masks phone numbers in the log in every written form, in paths, query strings and bodies, at info level', async () => {
    logs.length = 0;
    // Each number is written as a user or a client library would; what must not appear is its tail as written.
    const cases = [
      { request: { method: 'GET', url: '/api/v1/locks/+33612349173' }, clear: ['612349173', '9173'] },
      { request: { method: 'GET', url: '/api/v1/locks/06.12.34.91.74' }, clear: ['06.12.34.91.74', '91.74', '0612349174'] },
      { request: { method: 'GET', url: '/api/v1/locks/06-12-34-91-75' }, clear: ['06-12-34-91-75', '91-75'] },
      { request: { method: 'GET', url: '/api/v1/locks/%2B33612349176' }, clear: ['%2B33612349176', '612349176'] },
      { request: { method: 'GET', url: '/api/v1/alerts?client=06%2012%2034%2091%2077' }, clear: ['91%2077', '06 12 34 91 77', '0612349177'] },
      { request: { method: 'GET', url: '/api/v1/alerts?client=06+12+34+91+78' }, clear: ['91+78', '0612349178'] },
      { request: { method: 'GET', url: '/api/v1/alerts?client=%2B33%206%2012%2034%2091%2079' }, clear: ['91%2079', '612349179'] },
      { request: { method: 'GET', url: '/api/v1/alerts?client=06.12.34.91.80&nope=+33 6 12 34 91 81' }, clear: ['91.80', '91 81', '0612349180'] },
      { request: { method: 'PUT', url: `/api/v1/locks/${ACCOUNT}`, payload: { level: 'none', reason: 'rappel au 06 12 34 91 82 et au +33 (0)6 12 34 91 83' } }, clear: ['91 82', '91 83', '0612349182'] },
      { request: { method: 'POST', url: '/api/v1/alerts/al-crit/acknowledge', payload: '{"comment": "06.12.34.91.84", broken' }, clear: ['91.84'] },
    ] as const;
    for (const c of cases) {
      const r = await app.inject({ ...c.request, headers: { ...auth(), ...('payload' in c.request ? { 'content-type': 'application/json' } : {}) } });
      expect(r.statusCode, c.request.url).toBeLessThan(500);
    }
    const log = logs.join('');
    expect(log).toContain('"level":30');
    expect(log).toContain('/api/v1/locks/06.12.34.**.**');
    expect(log).toContain('client=06%2012%2034%20**%20**');
    for (const c of cases) for (const clear of c.clear) expect(log, `${clear} (from ${c.request.url})`).not.toContain(clear);

    // Whatever a route might log (a body, an error quoting one) goes through the same masking.
    const direct: string[] = [];
    const logger = deskLogger('info', new Writable({ write(chunk: Buffer, _e, done) { direct.push(chunk.toString()); done(); } }));
    logger.info({ body: { reason: 'appelle le 06 12 34 91 85', numbers: ['+33612349186'] }, err: new Error('duplicate key 06-12-34-91-87') }, 'lock set for 06.12.34.91.88');
    const line = direct.join('');
    for (const clear of ['91 85', '612349186', '91-87', '91.88']) expect(line).not.toContain(clear);
    expect(line).toContain('06.12.34.**.**');
  });
});
