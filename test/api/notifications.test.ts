/**
 * Notifications (issue 21 part 3) over both stores, against real receivers on 127.0.0.1: an HTTP server
 * that checks each webhook's HMAC signature (and fails, refuses or never answers on purpose), and an SMTP
 * server (smtp-server, authentication checked) that receives the e-mails. Only the back-off schedule and
 * the timeout are shortened; the code path is production's.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import swagger from '@fastify/swagger';
import Fastify from 'fastify';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../services/config/config-error.js';
import { deskLogger } from '../../services/api/log-masking.js';
import { noticeId, type AlertNotice, type Notice } from '../../services/api/notify/notification.js';
import { loadNotifications, notificationsOf, notificationsSchema, type NotificationsConfig } from '../../services/api/notify/notify-config.js';
import { Notifier, type DeliveryView } from '../../services/api/notify/notifier.js';
import { notificationRoutes } from '../../services/api/routes/notification-routes.js';
import { contractOf } from './support/openapi-contract.js';
import { STORE_KINDS, openTestStore, type TestStore } from './support/stores.js';

const SECRET = 'whsec-test-0123456789abcdef';
const SMTP_USER = 'cdr-mailer';
const SMTP_PASSWORD = 'smtp-pass-9f8e7d';
const ENV = { CDR_TEST_HOOK_SECRET: SECRET, CDR_TEST_SMTP_USER: SMTP_USER, CDR_TEST_SMTP_PASSWORD: SMTP_PASSWORD };
const DELAYS = [150, 300];

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
  signed: boolean;
}

/** The receiver's own check, as README tells a receiver to do it. */
function signatureValid(body: string, header: string | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
  const got = Buffer.from(header ?? '');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** A webhook receiver: /ok answers 204, /flaky 503 to the first two requests of a notice then 200, /bad 400, /hang never. */
async function startReceiver(): Promise<{ server: Server; base: string; received: Received[] }> {
  const received: Received[] = [];
  const flaky = new Map<string, number>();
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const signed = signatureValid(body, req.headers['x-cdr-signature'] as string | undefined);
      received.push({ path: req.url ?? '', headers: req.headers, body, at: Date.now(), signed });
      if (!signed) return void res.writeHead(401).end();
      if (req.url === '/hang') return; // never answers
      if (req.url === '/bad') return void res.writeHead(400).end('{"error":"no"}');
      if (req.url === '/flaky') {
        const id = String(req.headers['x-cdr-notice-id']);
        const n = (flaky.get(id) ?? 0) + 1;
        flaky.set(id, n);
        if (n <= 2) return void res.writeHead(503).end();
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

interface Mail {
  from: string;
  to: string[];
  user: string;
  raw: string;
}

async function startSmtp(): Promise<{ server: SMTPServer; port: number; mails: Mail[] }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) return cb(null, { user: auth.username });
      return cb(new Error('bad credentials'));
    },
    onData(stream, session, cb) {
      let raw = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (raw += c));
      stream.on('end', () => {
        mails.push({
          raw, user: String(session.user), from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.server.address() as AddressInfo).port, mails };
}

/** A message's headers unfolded and its text part decoded (7bit or quoted-printable). */
function readMail(raw: string): { subject: string; text: string } {
  const [head, ...rest] = raw.split(/\r?\n\r?\n/);
  const headers = head!.replace(/\r?\n[ \t]+/g, ' ');
  const subject = /^Subject: (.*)$/im.exec(headers)?.[1] ?? '';
  let text = rest.join('\n\n');
  if (/quoted-printable/i.test(headers)) text = text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return { subject, text: text.replace(/\r\n/g, '\n') };
}

function configOf(file: unknown): NotificationsConfig {
  return notificationsOf('test/notifications.yaml', notificationsSchema.parse(file), ENV);
}

let seq = 0;
function alertNotice(over: Partial<AlertNotice> = {}): Notice {
  const id = `al-test-${process.pid}-${seq++}`;
  return {
    kind: 'alert',
    alert: {
      alert_id: id, rule: 'fraud.premium_destination', severity: 'critical', client_id: 'C-0042', site_id: 'S-1', user_id: 'U-7',
      message: '12 calls to premium-rate numbers in 10 min', first_seen: '2026-03-02T08:00:00.000Z', last_seen: '2026-03-02T08:10:00.000Z',
      value: '12', threshold: '10', ...over,
    },
  };
}

async function until<T>(what: string, read: () => Promise<T>, done: (v: T) => boolean, withinMs = 10_000): Promise<T> {
  const end = Date.now() + withinMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${withinMs} ms (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('config/notifications.yaml', () => {
  let dir: string;
  beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'cdr-notify-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const load = (yaml: string, env: NodeJS.ProcessEnv = ENV) => {
    writeFileSync(join(dir, 'notifications.yaml'), yaml);
    return loadNotifications(dir, env);
  };
  const refusal = (yaml: string, env?: NodeJS.ProcessEnv): ConfigError => {
    try {
      load(yaml, env);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return e as ConfigError;
    }
    throw new Error('accepted');
  };

  it('ships with nothing to send, and no file means no channels', () => {
    expect(loadNotifications('config', {})).toEqual({ file: join('config', 'notifications.yaml'), channels: [] });
    expect(loadNotifications(join(dir, 'absent'), {})).toEqual({ file: null, channels: [] });
  });

  it('reads webhooks and e-mail routes with their defaults, secrets from the environment and never printed', () => {
    const c = load(`webhooks:\n  - { name: soc, url: "https://soc.example.fr/hooks/cdr", secret_env: CDR_TEST_HOOK_SECRET }\n` +
      `email:\n  name: astreinte\n  smtp: { host: smtp.example.fr, user_env: CDR_TEST_SMTP_USER, password_env: CDR_TEST_SMTP_PASSWORD }\n  from: "Desk <cdr@example.fr>"\n  to: [fraude@example.fr]\n  kinds: [alert, lock]\n`);
    expect(c.channels.map((ch) => [ch.channel, ch.kinds, ch.rules, ch.minSeverity])).toEqual([
      ['webhook:soc', ['alert', 'lock', 'case'], '*', 'critical'], ['email:astreinte', ['alert', 'lock'], '*', 'critical'],
    ]);
    const email = c.channels[1]!;
    expect(email.type === 'email' && [email.smtp.port, email.smtp.secure, email.smtp.user, email.smtp.password?.reveal()]).toEqual([587, false, SMTP_USER, SMTP_PASSWORD]);
    const printed = JSON.stringify(c) + String((c.channels[0] as { secret: unknown }).secret);
    expect(printed).not.toContain(SECRET);
    expect(printed).not.toContain(SMTP_PASSWORD);
  });

  it('refuses an unknown field, naming the file, the route and the known fields', () => {
    const e = refusal('webhooks:\n  - { name: soc, urll: "https://x.fr/", url: "https://x.fr/", secret_env: CDR_TEST_HOOK_SECRET }\n');
    expect(e.file).toBe(join(dir, 'notifications.yaml'));
    expect(e.where).toBe('webhooks.0');
    expect(e.problem).toMatch(/unknown field "urll"; known fields: name, url, secret_env/);
  });

  it('refuses to start when a secret variable is not set, naming it and what to do', () => {
    const e = refusal('webhooks:\n  - { name: soc, url: "https://x.fr/", secret_env: CDR_UNSET_SECRET }\n', {});
    expect(e.where).toBe('webhooks.0.secret_env');
    expect(e.problem).toMatch(/CDR_UNSET_SECRET is not set: export it with the HMAC secret/);
    expect(refusal(`email:\n  - { name: a, from: a@b.fr, to: [c@d.fr], smtp: { host: h, user_env: U, password_env: CDR_TEST_SMTP_PASSWORD } }\n`).where).toBe('email.0.smtp.user_env');
  });

  it('refuses a bad URL, a bad severity, a user without password and two routes of one name', () => {
    const url = refusal('webhooks:\n  - { name: soc, url: "ftp://x.fr/", secret_env: CDR_TEST_HOOK_SECRET }\n');
    expect([url.where, url.problem]).toEqual(['webhooks.0.url', expect.stringMatching(/http:\/\/ or https:\/\/ URL/)]);
    expect(refusal('webhooks:\n  - { name: soc, url: "not a url", secret_env: CDR_TEST_HOOK_SECRET }\n').where).toBe('webhooks.0.url');
    expect(refusal('webhooks:\n  - { name: soc, url: "https://x.fr/", secret_env: CDR_TEST_HOOK_SECRET, min_severity: high }\n').where).toBe('webhooks.0.min_severity');
    expect(refusal('email:\n  - { name: a, from: a@b.fr, to: [c@d.fr], smtp: { host: h, user_env: CDR_TEST_SMTP_USER } }\n').problem).toMatch(/both user_env and password_env/);
    const twice = refusal('webhooks:\n  - { name: soc, url: "https://x.fr/", secret_env: CDR_TEST_HOOK_SECRET }\n  - { name: soc, url: "https://y.fr/", secret_env: CDR_TEST_HOOK_SECRET }\n');
    expect([twice.where, twice.problem]).toEqual(['webhooks.1.name', expect.stringMatching(/already the name of webhooks\.0/)]);
  });
});

describe.each(STORE_KINDS)('notifications over %s', (kind) => {
  let store: TestStore;
  let hook: Awaited<ReturnType<typeof startReceiver>>;
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let logText = '';
  const logger = deskLogger('info', new Writable({ write(c, _e, done) { logText += String(c); done(); } }));
  const notifiers: Notifier[] = [];

  const webhook = (name: string, path: string, more: Record<string, unknown> = {}) => ({ name, url: `${hook.base}${path}`, secret_env: 'CDR_TEST_HOOK_SECRET', ...more });
  const notifier = (channels: { webhooks?: unknown[]; email?: unknown[] }, o: { start?: boolean; timeoutMs?: number } = {}) => {
    const n = new Notifier({ sql: store.sql, config: configOf(channels), logger, retry: { delaysMs: DELAYS, timeoutMs: o.timeoutMs ?? 2_000 }, pollMs: 50 });
    notifiers.push(n);
    if (o.start !== false) n.start();
    return n;
  };
  const settled = (n: Notifier, id: string, count = 1) =>
    until(`deliveries of ${id}`, () => n.deliveries({ noticeId: id }), (d: DeliveryView[]) => d.length === count && d.every((x) => x.state !== 'pending'));
  const to = (path: string, id: string) => hook.received.filter((r) => r.path === path && r.headers['x-cdr-notice-id'] === id);

  beforeAll(async () => {
    store = await openTestStore(kind);
    hook = await startReceiver();
    smtp = await startSmtp();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(notifiers.map((n) => n.close()));
    hook?.server.closeAllConnections();
    await new Promise<void>((r) => (hook === undefined ? r() : hook.server.close(() => r())));
    await new Promise<void>((r) => (smtp === undefined ? r() : smtp.server.close(() => r())));
    await store?.close();
  });

  it('signs the JSON notice, retries a 503 with back-off and delivers at the third attempt', async () => {
    const n = notifier({ webhooks: [webhook('flaky', '/flaky')] });
    const notice = alertNotice();
    const id = noticeId(notice);
    await n.notify(notice);
    const [d] = await settled(n, id);
    expect(d).toMatchObject({ channel: 'webhook:flaky', kind: 'alert', state: 'delivered', attempts: 3, last_error: '', subject: '[cdr] critical fraud.premium_destination C-0042', next_attempt_at: null });
    const got = to('/flaky', id);
    expect(got).toHaveLength(3);
    expect(got.every((r) => r.signed)).toBe(true);
    // Waits of 150 ms then 300 ms, ±20 % jitter.
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(DELAYS[0]! * 0.8 - 5);
    expect(got[2]!.at - got[1]!.at).toBeGreaterThanOrEqual(DELAYS[1]! * 0.8 - 5);
    // The same body each time (signed once, at the same bytes), as JSON with the notice.
    expect(new Set(got.map((r) => r.body)).size).toBe(1);
    const body = JSON.parse(got[0]!.body) as Record<string, unknown>;
    expect(body).toMatchObject({ notice_id: id, kind: 'alert', alert: (notice as { alert: AlertNotice }).alert });
    expect(got[0]!.headers['content-type']).toBe('application/json');
    expect(Number(got[0]!.headers['x-cdr-timestamp'])).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(logText).toContain('notification delivered');
    expect(logText).not.toContain(SECRET);
    expect(logText).not.toContain('premium-rate numbers'); // bodies are not logged
  });

  it('fails a notice at once on a 400, and retries a receiver that never answers until it gives up', async () => {
    const n = notifier({ webhooks: [webhook('bad', '/bad'), webhook('hang', '/hang')] }, { timeoutMs: 300 });
    const notice = alertNotice();
    const id = noticeId(notice);
    await n.notify(notice);
    const ds = await settled(n, id, 2);
    const byChannel = Object.fromEntries(ds.map((d) => [d.channel, d]));
    expect(byChannel['webhook:bad']).toMatchObject({ state: 'failed', attempts: 1, last_error: 'HTTP 400: the receiver refused the notice', delivered_at: null });
    expect(to('/bad', id)).toHaveLength(1);
    expect(byChannel['webhook:hang']).toMatchObject({ state: 'failed', attempts: DELAYS.length + 1, last_error: 'no answer within 300 ms' });
    expect(to('/hang', id)).toHaveLength(DELAYS.length + 1);
    expect(logText).toMatch(/"notice_id":"[^"]+","channel":"webhook:bad","attempt":1,"error":"HTTP 400/);
  });

  it('routes by kind, rule and severity', async () => {
    const n = notifier({
      webhooks: [
        webhook('critical-only', '/ok', { min_severity: 'critical' }),
        webhook('warnings', '/ok', { min_severity: 'warning', rules: ['fraud.premium_destination'] }),
        webhook('locks', '/ok', { kinds: ['lock'] }),
      ],
    });
    const warning = alertNotice({ severity: 'warning' });
    const otherRule = alertNotice({ severity: 'warning', rule: 'fraud.hyper_short_calls' });
    const lock: Notice = {
      kind: 'lock',
      lock: { account: 'tcx01-u1001', client_id: 'C-0042', site_id: 'S-1', user_id: 'U-7', level: 'foreign', reason: 'fraud.premium_destination above 10 calls', set_at: new Date().toISOString(), rule: 'fraud.premium_destination', alert_id: 'al-x', expires_at: null, set_by: 'policy' },
    };
    expect(n.routesOf(warning).map((c) => c.channel)).toEqual(['webhook:warnings']);
    expect(n.routesOf(otherRule)).toEqual([]);
    expect(n.routesOf(lock).map((c) => c.channel)).toEqual(['webhook:critical-only', 'webhook:warnings', 'webhook:locks']);
    for (const x of [warning, otherRule, lock]) await n.notify(x);
    await settled(n, noticeId(warning));
    await settled(n, noticeId(lock), 3);
    expect((await n.deliveries({ noticeId: noticeId(otherRule) }))).toEqual([]);
    const lockBodies = to('/ok', noticeId(lock)).map((r) => JSON.parse(r.body) as { kind: string; lock: { account: string; level: string } });
    expect(lockBodies).toHaveLength(3);
    expect(lockBodies[0]).toMatchObject({ kind: 'lock', lock: { account: 'tcx01-u1001', level: 'foreign' } });
    expect((await n.deliveries({ noticeId: noticeId(lock), channel: 'webhook:locks' }))[0]!.subject).toBe('[cdr] lock foreign C-0042 tcx01-u1001 (fraud.premium_destination)');
  });

  it('delivers the same notice once, however often it is notified', async () => {
    const n = notifier({ webhooks: [webhook('once', '/ok')] });
    const notice = alertNotice();
    await Promise.all([n.notify(notice), n.notify(notice)]);
    await n.notify(notice);
    await settled(n, noticeId(notice));
    await n.notify(notice);
    await new Promise((r) => setTimeout(r, 200));
    expect(to('/ok', noticeId(notice))).toHaveLength(1);
    expect(await n.deliveries({ noticeId: noticeId(notice) })).toMatchObject([{ state: 'delivered', attempts: 1 }]);
  });

  it('resumes a pending delivery after a restart (a new Notifier on the same store)', async () => {
    const channels = { webhooks: [webhook('resume', '/ok')] };
    const before = notifier(channels, { start: false });
    const notice = alertNotice();
    await before.notify(notice);
    await before.close();
    expect(await before.deliveries({ noticeId: noticeId(notice) })).toMatchObject([{ state: 'pending', attempts: 0 }]);
    expect(to('/ok', noticeId(notice))).toHaveLength(0);
    const after = notifier(channels);
    expect(await settled(after, noticeId(notice))).toMatchObject([{ state: 'delivered', attempts: 1 }]);
    expect(to('/ok', noticeId(notice))).toHaveLength(1);
  });

  it('sends e-mail over SMTP (authenticated) with the subject and a plain-text body', async () => {
    const n = notifier({
      email: [{ name: 'astreinte', smtp: { host: '127.0.0.1', port: smtp.port, secure: false, user_env: 'CDR_TEST_SMTP_USER', password_env: 'CDR_TEST_SMTP_PASSWORD' }, from: 'cdr@example.fr', to: ['fraude@example.fr', 'noc@example.fr'] }],
    });
    const notice = alertNotice();
    await n.notify(notice);
    const [d] = await settled(n, noticeId(notice));
    expect(d).toMatchObject({ channel: 'email:astreinte', state: 'delivered', attempts: 1 });
    const mail = smtp.mails.find((m) => m.raw.includes(noticeId(notice)))!;
    expect([mail.user, mail.from, mail.to]).toEqual([SMTP_USER, 'cdr@example.fr', ['fraude@example.fr', 'noc@example.fr']]);
    const { subject, text } = readMail(mail.raw);
    expect(subject).toBe('[cdr] critical fraud.premium_destination C-0042');
    expect(text).toContain(`Alert: ${(notice as { alert: AlertNotice }).alert.alert_id}\nRule: fraud.premium_destination\nSeverity: critical\nClient: C-0042`);
    expect(text).toContain('Message: 12 calls to premium-rate numbers in 10 min');
    expect(logText).not.toContain(SMTP_PASSWORD);
  });

  it('shows the delivery log at GET /api/v1/notifications, as the OpenAPI document describes it', async () => {
    const n = notifier({ webhooks: [webhook('log', '/ok'), webhook('log-bad', '/bad', { kinds: ['case'] })] });
    const c: Notice = { kind: 'case', case: { case_id: 'case-0123456789ab', client_id: 'C-0042', title: 'premium calls', state: 'new', severity: 'critical', owner: '' } };
    await n.notify(c);
    await settled(n, noticeId(c), 2);
    const app = Fastify({ ajv: { customOptions: { removeAdditional: false, coerceTypes: true } } });
    await app.register(swagger, { openapi: { openapi: '3.0.3', info: { title: 't', version: '1' } } });
    app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
    await app.register(async (api) => notificationRoutes(api, n), { prefix: '/api/v1' });
    try {
      const contract = await contractOf(app, {});
      const all = (await contract.call('GET', '/api/v1/notifications?limit=200', {})).json<{ channels: unknown[]; deliveries: DeliveryView[] }>();
      expect(all.channels).toEqual([
        { channel: 'webhook:log', type: 'webhook', kinds: ['alert', 'lock', 'case'], rules: ['*'], min_severity: 'critical' },
        { channel: 'webhook:log-bad', type: 'webhook', kinds: ['case'], rules: ['*'], min_severity: 'critical' },
      ]);
      expect(all.deliveries.filter((d) => d.notice_id === noticeId(c)).map((d) => [d.channel, d.state])).toEqual([['webhook:log', 'delivered'], ['webhook:log-bad', 'failed']]);
      const failed = (await contract.call('GET', '/api/v1/notifications?state=failed&channel=webhook:log-bad', {})).json<{ deliveries: DeliveryView[] }>();
      expect(failed.deliveries).toMatchObject([{ notice_id: noticeId(c), kind: 'case', subject_id: 'case-0123456789ab', subject: '[cdr] case new critical C-0042 premium calls', attempts: 1 }]);
      expect(JSON.stringify(all)).not.toContain(hook.base);
      expect((await app.inject({ method: 'GET', url: '/api/v1/notifications?limit=201' })).statusCode).toBe(400);
    } finally {
      await app.close();
    }
  });
});
