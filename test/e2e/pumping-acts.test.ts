/**
 * Fraud that acts, end to end with the CLI (issue 21, "Done means"): a generated month with premium
 * pumping is rated; `cdr serve` sees the alert, locks the pumping line by policy within seconds, shows
 * the lock with its rule on the desk, tells a webhook (a real HTTP receiver checking the signature) of
 * the alert and the lock, and the switch's next calls abroad from that line are refused (and kept as
 * evidence) while its national calls and 112 go through.
 */
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cdr, startServe } from '../support/cdr-cli.js';

describe('premium pumping, from the CDRs to the switch refusing the next calls', () => {
  let work: string;
  let server: ChildProcess;
  let base: string;
  let analyst: { authorization: string };
  let sw: { authorization: string; 'content-type': string };
  let receiver: Server;
  const received: { kind: string; alert?: { rule: string }; lock?: { level: string; rule: string }; signed: boolean }[] = [];
  const SECRET = 'a webhook secret for the test';

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cdr-pumping-'));
    const gen = join(work, 'gen');
    const data = join(work, 'data');
    cdr(['generate', '--subscribers', '20', '--days', '3', '--start', '2026-03-02', '--inject', 'premium_destination', '--out', gen]);
    const files = readdirSync(gen).filter((f) => f.startsWith('cdrs-')).map((f) => join(gen, f));
    cdr(['rate', '--data', data, '--out', join(work, 'out'), '--subscribers', join(gen, 'subscribers.csv'), ...files]);
    analyst = { authorization: `Bearer ${cdr(['token', 'create', '--role', 'analyst', '--name', 'ana', '--data', data]).trim()}` };
    sw = { authorization: `Bearer ${cdr(['token', 'create', '--role', 'switch', '--name', 'sbc', '--data', data]).trim()}`, 'content-type': 'application/json' };
    // The SOC's webhook: a real HTTP server that checks each notice's signature.
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const signed = req.headers['x-cdr-signature'] === `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
        received.push({ ...JSON.parse(body), signed });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((ok) => receiver.listen(0, '127.0.0.1', ok));
    const config = join(work, 'config');
    cpSync('config', config, { recursive: true });
    writeFileSync(join(config, 'notifications.yaml'), `webhooks:\n  - name: soc\n    url: http://127.0.0.1:${(receiver.address() as AddressInfo).port}/cdr\n    secret_env: CDR_TEST_WEBHOOK_SECRET\n    kinds: [alert, lock]\nemail: []\n`);
    ({ server, base } = await startServe(['--data', data, '--config', config, '--subscribers', join(gen, 'subscribers.csv')], { CDR_TEST_WEBHOOK_SECRET: SECRET }));
  }, 120_000);

  afterAll(() => {
    server?.kill('SIGTERM');
    receiver?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  const get = async (path: string) => (await fetch(base + path, { headers: analyst })).json();
  const ask = async (account: string, callee: string) =>
    (await (await fetch(`${base}/api/v1/authorize`, { method: 'POST', headers: sw, body: JSON.stringify({ account, callee }) })).json()) as { decision: string; reason: string };

  it('raises the alert, locks the line by policy, shows it on the desk, and refuses its next calls abroad', async () => {
    const { alerts } = await get('/api/v1/alerts?status=open&limit=200') as { alerts: { alert_id: string; rule: string }[] };
    const pumping = alerts.filter((a) => a.rule === 'fraud.premium_destination');
    expect(pumping.length).toBeGreaterThan(0);
    const detail = await get(`/api/v1/alerts/${pumping[0]!.alert_id}`) as { account: string | null };
    const account = detail.account!;
    expect(account).toBeTruthy();

    // Within a few seconds of cdr serve starting, the policy has locked the line.
    const deadline = Date.now() + 10_000;
    let lock: { level: string; lock: { rule: string; alert_id: string; set_by: string } | null };
    do {
      lock = await get(`/api/v1/locks/${encodeURIComponent(account)}`);
      if (lock.level !== 'none') break;
      await new Promise((r) => setTimeout(r, 200));
    } while (Date.now() < deadline);
    expect(lock.level).toBe('foreign');
    expect(lock.lock).toMatchObject({ rule: 'fraud.premium_destination', set_by: 'policy' });
    expect(pumping.map((a) => a.alert_id)).toContain(lock.lock!.alert_id);
    // On the alert's page: the lock in force and its audit event.
    const after = await get(`/api/v1/alerts/${lock.lock!.alert_id}`) as { lock: { level: string } | null; audit: { actor: string; action: string }[] };
    expect(after.lock?.level).toBe('foreign');
    expect(after.audit.some((e) => e.actor === 'policy' && e.action === 'set_lock')).toBe(true);

    // The SOC was told, signed: the critical alert and the lock with its rule.
    const told = Date.now() + 10_000;
    while (!received.some((n) => n.kind === 'lock') && Date.now() < told) await new Promise((r) => setTimeout(r, 200));
    expect(received.every((n) => n.signed)).toBe(true);
    expect(received.filter((n) => n.kind === 'lock').map((n) => `${n.lock!.level} ${n.lock!.rule}`)).toContain('foreign fraud.premium_destination');
    expect(received.filter((n) => n.kind === 'alert').map((n) => n.alert!.rule)).toContain('fraud.premium_destination');
    const log = await get('/api/v1/notifications?limit=200') as { deliveries: { channel: string; state: string; kind: string }[] };
    expect(log.deliveries.filter((d) => d.kind === 'lock').every((d) => d.channel === 'webhook:soc' && d.state === 'delivered')).toBe(true);

    // The switch's next calls from that line.
    expect(await ask(account, '+88216123456')).toMatchObject({ decision: 'deny', reason: 'lock_foreign' });
    expect(await ask(account, '+4930123456')).toMatchObject({ decision: 'deny', reason: 'lock_foreign' });
    expect(await ask(account, '0145000001')).toMatchObject({ decision: 'allow' });
    expect(await ask(account, '112')).toMatchObject({ decision: 'allow', reason: 'emergency' });
    // Kept for the desk (written within a second).
    await new Promise((r) => setTimeout(r, 1500));
    const kept = await get(`/api/v1/call-decisions?account=${encodeURIComponent(account)}`) as { decisions: { callee: string; reason: string }[] };
    expect(kept.decisions.map((d) => `${d.callee} ${d.reason}`).sort()).toEqual(['+4930123456 lock_foreign', '+88216123456 lock_foreign']);
  }, 60_000);
});
