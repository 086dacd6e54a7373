/**
 * Fraud that acts, end to end with the CLI (issue 21, "Done means"): a generated month with premium
 * pumping is rated; `cdr serve` sees the alert, locks the pumping line by policy within seconds, shows
 * the lock with its rule on the desk, and the switch's next calls abroad from that line are refused (and
 * kept as evidence) while its national calls and 112 go through.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
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

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'cdr-pumping-'));
    const gen = join(work, 'gen');
    const data = join(work, 'data');
    cdr(['generate', '--subscribers', '20', '--days', '3', '--start', '2026-03-02', '--inject', 'premium_destination', '--out', gen]);
    const files = readdirSync(gen).filter((f) => f.startsWith('cdrs-')).map((f) => join(gen, f));
    cdr(['rate', '--data', data, '--out', join(work, 'out'), '--subscribers', join(gen, 'subscribers.csv'), ...files]);
    analyst = { authorization: `Bearer ${cdr(['token', 'create', '--role', 'analyst', '--name', 'ana', '--data', data]).trim()}` };
    sw = { authorization: `Bearer ${cdr(['token', 'create', '--role', 'switch', '--name', 'sbc', '--data', data]).trim()}`, 'content-type': 'application/json' };
    ({ server, base } = await startServe(['--data', data, '--subscribers', join(gen, 'subscribers.csv')]));
  }, 120_000);

  afterAll(() => {
    server?.kill('SIGTERM');
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
