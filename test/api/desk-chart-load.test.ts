/**
 * Issue 23.7: one analyst must not stall the desk. On a month of rated calls big enough that reading
 * it takes seconds, ten charts of different windows (each one a cache miss) are asked at once while a
 * switch polls the barring feed: every feed answer must come within the promised latency, and the
 * chart's figures must be the rows' own, to the cent. Over real HTTP, on both stores.
 */
import type { AddressInfo } from 'node:net';
import { Decimal } from 'decimal.js';
import { DateTime } from 'luxon';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config/load-config.js';
import { buildServer } from '../../services/api/server.js';
import { createToken } from '../../services/store/desk/api-tokens.js';
import { msOf } from '../../services/store/row-values.js';
import { insertAlert } from './support/desk-rows.js';
import { fillMonth } from './support/month-rows.js';
import { openTestStore, STORE_KINDS, type TestStore } from './support/stores.js';

/** README "Reliability": the barring feed's worst answer while the desk computes charts (median: a few ms). */
const FEED_WORST_MS = 1_000;
/** Enough calls that today's chart (every call through the event loop) takes well over a second. */
const CALLS = 150_000;

interface Timed {
  status: number;
  ms: number;
  retryAfter: string | null;
  body: string;
}

async function timedGet(url: string, token: string): Promise<Timed> {
  const started = performance.now();
  const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = await r.text();
  return { status: r.status, ms: performance.now() - started, retryAfter: r.headers.get('retry-after'), body };
}

/** Polls the feed every 20 ms until `until` settles; returns every answer. */
async function pollFeed(base: string, token: string, until: Promise<unknown>): Promise<Timed[]> {
  let done = false;
  void until.finally(() => (done = true));
  const answers: Timed[] = [];
  while (!done || answers.length < 5) {
    answers.push(await timedGet(`${base}/api/v1/barring.txt`, token));
    await new Promise((r) => setTimeout(r, 20));
  }
  return answers;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe.each(STORE_KINDS)('the desk under heavy chart reads (%s store)', (kind) => {
  let store: TestStore;
  let token: string;
  /** The rows' out-of-bundle spend per Paris day, added here with decimal.js. */
  const expected = new Map<string, Decimal>();

  beforeAll(async () => {
    store = await openTestStore(kind);
    await fillMonth(store, CALLS);
    for (let i = 0; i < 12; i++) {
      await insertAlert(store, { alertId: `al-load-${i}`, rule: i % 2 === 0 ? 'fraud.call_setup_rate' : 'fraud.premium_destination', severity: 'critical', clientId: 'C-LOAD', siteId: 'S-LOAD', userId: 'U1', firstSeen: `2026-03-${String(10 + (i % 3)).padStart(2, '0')}T09:00:00Z`, lastSeen: '2026-03-28T09:00:00Z', value: '12', threshold: '10', cdrIds: [] });
    }
    const rows = await store.sql.query<{ start_time: unknown; amount: unknown }>('SELECT start_time, amount FROM rated_cdr WHERE in_bundle = FALSE');
    for (const r of rows) {
      const day = DateTime.fromMillis(msOf(r.start_time)!, { zone: 'Europe/Paris' }).toFormat('yyyy-MM-dd');
      expected.set(day, (expected.get(day) ?? new Decimal(0)).plus(String(r.amount)));
    }
    token = await createToken(store.sql, 'load', 'analyst', 'test', Date.now());
  });
  afterAll(async () => {
    await store?.close();
  });

  const serve = async (maxInFlight?: number) => {
    const app = await buildServer({ sql: store.sql, store: store.origin, directory: loadConfig('config').directory, logger: pino({ level: 'silent' }), maxInFlight });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
  };

  it('answers the barring feed within its latency while ten charts of different windows are computed, and the charts are right to the cent', async () => {
    const { app, base } = await serve();
    try {
      const windows = Array.from({ length: 10 }, (_, i) => ({ days: 20 + i, until: `2026-03-${String(31 - i).padStart(2, '0')}` }));
      const charts = Promise.all(windows.map((w) => timedGet(`${base}/api/v1/charts/daily?days=${w.days}&until=${w.until}`, token)));
      const feed = await pollFeed(base, token, charts);
      const answers = await charts;

      const feedMs = feed.map((f) => f.ms);
      console.log(`${kind}: barring.txt ${feed.length} answers, median ${median(feedMs).toFixed(1)} ms, worst ${Math.max(...feedMs).toFixed(1)} ms; charts ${answers.map((a) => Math.round(a.ms)).join(', ')} ms`);
      expect(feed.every((f) => f.status === 200)).toBe(true);
      expect(Math.max(...feedMs)).toBeLessThan(FEED_WORST_MS);

      for (const [i, a] of answers.entries()) {
        expect(a.status).toBe(200);
        const chart = JSON.parse(a.body) as { days: string[]; out_of_bundle_spend: { day: string; amount: string; amount_display: string }[]; alerts_per_rule: Record<string, number[]> };
        expect(chart.days).toHaveLength(windows[i]!.days);
        expect(chart.days.at(-1)).toBe(windows[i]!.until);
        for (const s of chart.out_of_bundle_spend) {
          const want = expected.get(s.day) ?? new Decimal(0);
          expect(s.amount_display, s.day).toBe(want.toFixed(2));
          expect(new Decimal(s.amount).equals(want), `${s.day}: ${s.amount} against the rows' ${want.toFixed()}`).toBe(true);
        }
        const day10 = chart.days.indexOf('2026-03-10');
        if (day10 >= 0) expect(chart.alerts_per_rule['fraud.call_setup_rate']![day10]).toBe(2);
      }
      // The 29th, when Paris moves to summer time, has 23 hours: its spend is its own calls', not a 24-hour slice.
      expect(expected.get('2026-03-29')!.gt(0)).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('refuses requests beyond the in-flight bound with 503 and Retry-After, while the barring feed keeps answering', async () => {
    const { app, base } = await serve(4);
    try {
      // Windows of another month: nothing cached, so each waits for the store while the others arrive.
      const charts = Promise.all(Array.from({ length: 12 }, (_, i) => timedGet(`${base}/api/v1/charts/daily?days=${10 + i}&until=2026-02-${String(10 + i).padStart(2, '0')}`, token)));
      const feed = await pollFeed(base, token, charts);
      const answers = await charts;
      const busy = answers.filter((a) => a.status === 503);
      expect(busy.length, `statuses ${answers.map((a) => a.status).join(' ')}`).toBeGreaterThan(0);
      expect(answers.filter((a) => a.status === 200).length).toBeGreaterThan(0);
      expect(busy[0]!.retryAfter).toBe('1');
      expect(JSON.parse(busy[0]!.body)).toMatchObject({ error: 'busy' });
      expect(feed.every((f) => f.status === 200)).toBe(true);
      expect((await timedGet(`${base}/api/v1/charts/daily?days=5&until=2026-02-20`, token)).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
