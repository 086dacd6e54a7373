/**
 * The desk page speaks French unless the browser prefers English (issue 20): `/` is sent with the
 * language Accept-Language prefers among the two in <html lang>, French when it names neither or
 * nothing, with Content-Language and Vary so that no cache serves one language for the other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, type TestStore } from './support/stores.js';
import { seedWorld, startWorld, type World } from './support/desk-world.js';

describe('the desk page language', () => {
  let store: TestStore;
  let w: World;
  beforeAll(async () => {
    store = await openTestStore('embedded');
    await seedWorld(store);
    w = await startWorld(store.sql, store.origin);
  });
  afterAll(async () => {
    await w?.app.close();
    await store?.close();
  });

  it.each([
    [undefined, 'fr'],
    ['fr-FR,fr;q=0.9', 'fr'],
    ['en-US,en;q=0.9', 'en'],
    ['en-GB', 'en'],
    ['de-DE,de;q=0.9', 'fr'],
    ['de-DE,en;q=0.8,fr;q=0.5', 'en'],
    ['fr-CA,en;q=0.9', 'fr'],
    ['*', 'fr'],
  ])('Accept-Language %s gives %s', async (accept, lang) => {
    for (const url of ['/', '/index.html']) {
      const r = await w.app.inject({ method: 'GET', url, headers: accept === undefined ? {} : { 'accept-language': accept } });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-language']).toBe(lang);
      expect(String(r.headers.vary)).toMatch(/accept-language/i);
      expect(r.body).toContain(`<html lang="${lang}">`);
      expect(r.body.match(/<html lang=/g)).toHaveLength(1);
    }
  });

  it("serves the page's words as a script of its own (the page's policy allows no inline script)", async () => {
    const r = await w.app.inject({ method: 'GET', url: '/i18n.js' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/javascript/);
  });
});
