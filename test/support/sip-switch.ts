/**
 * A real switch for the tests: Debian's Kamailio (config/switch/kamailio-authorize.cfg) asking the API
 * before relaying each INVITE, SIPp (package sip-tester) as the callee side (config/switch/sipp/uas.xml)
 * and, for each batch of calls, as the callers (config/switch/sipp/uac.xml). Everything runs on
 * loopback UDP ports chosen free at start, its files in one temporary directory.
 *
 *   const sw = await startSwitch({ apiUrl, token });
 *   const r = await sw.placeCalls([{ caller: '0612345678', callee: '+33140000001' }], { ratePerSecond: 10 });
 *   // r.answered / r.refused / r.other, r.perCall[i].outcome for the i-th call; sw.accLog(): Kamailio's ACC lines
 *   await sw.stop();
 *
 * Processes: each is started in its own process group and stop() kills the groups (SIGTERM, then
 * SIGKILL) and waits until none of their processes is left; if the test process exits first, or is
 * told to stop by a signal, the groups are killed with it. scripts/ensure-sip.sh installs the tools;
 * without them sipToolsMissing() says why, for describe.skipIf.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { accessSync, closeSync, constants, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SwitchOptions {
  /** The rating API, e.g. `http://127.0.0.1:8080` (no trailing slash needed). */
  apiUrl: string;
  /** Its bearer token. */
  token: string;
  /** Relay calls when the API cannot answer (default: fail closed, 503 to the caller). */
  failOpen?: boolean;
  /** http_client's timeout for the API, whole seconds (default 1). */
  apiTimeoutSeconds?: number;
  /** Kamailio's UDP workers, i.e. API queries in flight at once (default 4). */
  workers?: number;
  /** Where the logs and the generated files go; kept after stop(). Default: a directory under os.tmpdir() removed by stop(). */
  workDir?: string;
}

export interface Call {
  caller: string;
  callee: string;
}

export interface PlaceOptions {
  ratePerSecond: number;
  /** How long an answered call lasts before its BYE (default 200 ms). */
  holdMs?: number;
}

export interface CallOutcome extends Call {
  /** answered: 200 then BYE; refused: 403 from the API; other: any other final answer, or none (then code is 0). */
  outcome: 'answered' | 'refused' | 'other';
  code: number;
  /** The X-Authorize header of the answer: `deny setup_rate`, `unavailable` (failing closed); '' when none. */
  reason: string;
  callId: string;
}

export interface CallsResult {
  answered: number;
  refused: number;
  other: number;
  /** In the order of the calls given. */
  perCall: CallOutcome[];
}

export interface SipSwitch {
  /** Kamailio's UDP port on 127.0.0.1, and the callee side's. */
  readonly sipPort: number;
  readonly uasPort: number;
  readonly workDir: string;
  placeCalls(calls: Call[], opts: PlaceOptions): Promise<CallsResult>;
  /** A file holding Kamailio's `ACC:` lines so far (as logged, one per accounted transaction): what `cdr` reads. */
  accLog(): string;
  /** Kamailio's whole log (stderr): the API's decisions, warnings, the ACC lines among them. */
  kamailioLog(): string;
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CONFIG = join(ROOT, 'config/switch/kamailio-authorize.cfg');
const UAS_XML = join(ROOT, 'config/switch/sipp/uas.xml');
const UAC_XML = join(ROOT, 'config/switch/sipp/uac.xml');
const HOST = '127.0.0.1';
/** What a caller or callee may be: digits and the few characters a number has (no SIP escaping needed). */
const NUMBER = /^[A-Za-z0-9+*._-]{1,64}$/;

// ----- tools -----

function onPath(name: string, envOverride: string | undefined): string | undefined {
  if (envOverride !== undefined && envOverride !== '') return isExecutable(envOverride) ? envOverride : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  return dirs.map((d) => join(d, name)).find(isExecutable);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Debian's module directory (multiarch), or KAMAILIO_MODULES. */
function modulesDir(): string | undefined {
  if (process.env.KAMAILIO_MODULES) return process.env.KAMAILIO_MODULES;
  const lib = existsSync('/usr/lib') ? readdirSync('/usr/lib').filter((d) => d.endsWith('-linux-gnu')).map((d) => `/usr/lib/${d}/kamailio/modules`) : [];
  return [...lib, '/usr/lib/kamailio/modules', '/usr/lib64/kamailio/modules', '/usr/local/lib64/kamailio/modules', '/usr/local/lib/kamailio/modules'].find((d) =>
    existsSync(join(d, 'tm.so')),
  );
}

let tools: { kamailio: string; sipp: string; modules: string } | string | undefined;

function findTools(): { kamailio: string; sipp: string; modules: string } | string {
  if (tools !== undefined) return tools;
  const kamailio = onPath('kamailio', process.env.KAMAILIO_PATH);
  const sipp = onPath('sipp', process.env.SIPP_PATH);
  const modules = modulesDir();
  const install = 'install them with scripts/ensure-sip.sh (apt-get install -y kamailio kamailio-utils-modules sip-tester)';
  if (kamailio === undefined) tools = `no kamailio on the PATH (or KAMAILIO_PATH): ${install}`;
  else if (sipp === undefined) tools = `no sipp on the PATH (or SIPP_PATH): ${install}`;
  else if (modules === undefined) tools = `kamailio's modules (tm.so) not found (set KAMAILIO_MODULES): ${install}`;
  else {
    const lacking = ['http_client.so', 'acc.so', 'tmx.so'].filter((m) => !existsSync(join(modules, m)));
    tools = lacking.length > 0 ? `kamailio module${lacking.length > 1 ? 's' : ''} ${lacking.join(', ')} missing in ${modules}: ${install}` : { kamailio, sipp, modules };
  }
  return tools;
}

/** Why the real-switch tests cannot run here, or undefined when kamailio, its modules and sipp are installed. */
export function sipToolsMissing(): string | undefined {
  const t = findTools();
  return typeof t === 'string' ? t : undefined;
}

// ----- processes -----

/** Process groups started here and not yet reaped: killed if this process goes away first. */
const live = new Set<number>();
let hooked = false;

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is gone.
  }
}

/**
 * Whether a live process is left in the group. From /proc, zombies excluded: a worker whose parent was
 * killed is reaped by PID 1, which in a container may take its time, and a zombie holds no port.
 */
function groupAlive(pgid: number): boolean {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  return pids.some((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, the fields follow the last ')'.
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(pgrp) === pgid && state !== 'Z';
    } catch {
      return false;
    }
  });
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const g of live) killGroup(g, 'SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      for (const g of live) killGroup(g, 'SIGKILL');
      live.clear();
      process.removeListener(sig, onSignal);
      // Nobody else listening: the default action (terminate), as without this hook.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

interface Proc {
  child: ChildProcess;
  pgid: number;
  exited: Promise<number | null>;
  exitCode(): number | null | undefined;
  stderrPath: string;
}

/** A process in its own group (detached), stdout and stderr to files. */
function launch(cmd: string, args: string[], cwd: string, name: string): Proc {
  hookExit();
  const stdoutPath = join(cwd, `${name}.out`);
  const stderrPath = join(cwd, `${name}.log`);
  const out = openSync(stdoutPath, 'a');
  const err = openSync(stderrPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { cwd, detached: true, stdio: ['ignore', out, err] });
  } finally {
    closeSync(out);
    closeSync(err);
  }
  if (child.pid === undefined) throw new Error(`${cmd} could not be started`);
  const pgid = child.pid;
  live.add(pgid);
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (c, s) => {
      code = c ?? (s !== null ? 128 : null);
      resolve(code);
    });
    child.once('error', () => {
      code = 127;
      resolve(code);
    });
  });
  return { child, pgid, exited, exitCode: () => code, stderrPath };
}

/** SIGTERM to the group, SIGKILL after graceMs, then wait until no process of the group is left. */
async function terminate(p: Proc, graceMs = 3000): Promise<void> {
  if (p.exitCode() === undefined) killGroup(p.pgid, 'SIGTERM');
  await within(p.exited, graceMs);
  killGroup(p.pgid, 'SIGKILL');
  await p.exited;
  // The leader is reaped; its children (Kamailio's workers) may take a moment to go.
  const until = Date.now() + 5000;
  while (groupAlive(p.pgid) && Date.now() < until) await sleep(20);
  if (groupAlive(p.pgid)) throw new Error(`processes of group ${p.pgid} survived SIGKILL`);
  live.delete(p.pgid);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The promise's value, or undefined after ms; the timer does not outlive it (it would hold the test process). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// ----- ports and readiness -----

/** A UDP port free on 127.0.0.1 right now (the OS's choice); the caller retries if it is taken before use. */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, HOST, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Whether a UDP socket is bound to the port (any address), from /proc/net/udp: looking does not take it. */
function udpBound(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const f of ['/proc/net/udp', '/proc/net/udp6']) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const local = line.trim().split(/\s+/)[1];
      if (local?.endsWith(hex)) return true;
    }
  }
  return false;
}

/** An OPTIONS to the proxy itself, answered 200 by its script once its workers run. */
function optionsAnswered(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.on('message', (m) => {
      if (/^SIP\/2\.0 200 /.test(m.toString('latin1'))) done(true);
    });
    s.on('error', () => done(false));
    s.bind(0, HOST, () => {
      const { port: me } = s.address();
      const id = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
      const msg =
        `OPTIONS sip:${HOST}:${port} SIP/2.0\r\n` +
        `Via: SIP/2.0/UDP ${HOST}:${me};branch=z9hG4bK-probe-${id};rport\r\n` +
        `Max-Forwards: 70\r\nFrom: <sip:probe@${HOST}>;tag=${id}\r\nTo: <sip:${HOST}:${port}>\r\n` +
        `Call-ID: probe-${id}@${HOST}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`;
      s.send(msg, port, HOST);
    });
  });
}

async function waitFor(what: string, p: Proc, ready: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (p.exitCode() !== undefined) throw new Error(`${what} exited (${p.exitCode()}) while starting:\n${tail(p.stderrPath)}`);
    if (await ready()) return;
    await sleep(50);
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms:\n${tail(p.stderrPath)}`);
}

/** Start on a free port, again on another if the first was taken meanwhile (the process then exits at once). */
async function onFreePort(what: string, start: (port: number, attempt: number) => Proc, ready: (port: number, p: Proc) => Promise<void>): Promise<{ port: number; proc: Proc }> {
  let last: unknown;
  for (let attempt = 1; attempt <= 4; attempt++) {
    const port = await freeUdpPort();
    const proc = start(port, attempt);
    try {
      await ready(port, proc);
      return { port, proc };
    } catch (e) {
      last = e;
      await terminate(proc, 500);
    }
  }
  throw new Error(`${what} could not be started: ${last instanceof Error ? last.message : String(last)}`);
}

// ----- the switch -----

/** `-A NAME="value"` for a string define: values with a quote or a backslash would end the string. */
function quotedDefine(name: string, value: string): string {
  if (!/^[\x21-\x7e]+$/.test(value) || /["\\]/.test(value)) throw new Error(`${name} must be printable ASCII without spaces, quotes or backslashes: ${JSON.stringify(value)}`);
  return `${name}="${value}"`;
}

export async function startSwitch(opts: SwitchOptions): Promise<SipSwitch> {
  const t = findTools();
  if (typeof t === 'string') throw new Error(t);
  const apiUrl = opts.apiUrl.replace(/\/+$/, '');
  const timeout = opts.apiTimeoutSeconds ?? 1;
  const workers = opts.workers ?? 4;
  if (!Number.isInteger(timeout) || timeout < 1) throw new Error('apiTimeoutSeconds: a whole number of seconds, at least 1 (kamailio 5.6)');
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new Error('workers: 1 to 64');
  const defines = [quotedDefine('API_URL', apiUrl), quotedDefine('API_TOKEN', opts.token)];

  const ownDir = opts.workDir === undefined;
  const dir = opts.workDir ?? mkdtempSync(join(tmpdir(), 'sip-switch-'));
  const started: Proc[] = [];
  const stopAll = async (): Promise<void> => {
    const errors: unknown[] = [];
    for (const p of started.splice(0).reverse()) await terminate(p).catch((e) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  };

  try {
    // The callee side first: Kamailio's next hop.
    const uas = await onFreePort(
      'the SIPp answerer',
      (port, attempt) => {
        const p = launch(t.sipp, ['-sf', UAS_XML, '-i', HOST, '-p', String(port), '-bind_local', '-nostdin', '-trace_err', '-error_file', join(dir, 'uas-errors.log')], dir, `uas-${attempt}`);
        started.push(p);
        return p;
      },
      (port, p) => waitFor('the SIPp answerer', p, () => udpBound(port), 5000),
    );

    const kam = await onFreePort(
      'Kamailio',
      (port, attempt) => {
        const args = [
          '-f', CONFIG, '-DD', '-E', '-Y', dir, '-L', t.modules, '-m', '64', '-M', '8',
          '-A', `SIP_PORT=${port}`, '-A', `NEXT_HOP="sip:${HOST}:${uas.port}"`, '-A', `API_TIMEOUT=${timeout}`, '-A', `WORKERS=${workers}`,
          ...defines.flatMap((d) => ['-A', d]),
          ...(opts.failOpen ? ['-A', 'FAIL_OPEN'] : []),
        ];
        const p = launch(t.kamailio, args, dir, attempt === 1 ? 'kamailio' : `kamailio-${attempt}`);
        started.push(p);
        return p;
      },
      (port, p) => waitFor('Kamailio', p, async () => udpBound(port) && (await optionsAnswered(port, 300)), 10_000),
    );
    // Kamailio's stderr (-E): its log, the ACC lines among it (kamailio.log; an earlier attempt's is kamailio-N.log).
    const kamStderr = kam.proc.stderrPath;

    let batch = 0;
    let stopped = false;
    const readLog = (): string => {
      try {
        return readFileSync(kamStderr, 'utf8');
      } catch {
        return '';
      }
    };

    const sw: SipSwitch = {
      sipPort: kam.port,
      uasPort: uas.port,
      workDir: dir,

      async placeCalls(calls: Call[], o: PlaceOptions): Promise<CallsResult> {
        if (stopped) throw new Error('the switch is stopped');
        if (calls.length === 0) return { answered: 0, refused: 0, other: 0, perCall: [] };
        for (const c of calls) {
          if (!NUMBER.test(c.caller) || !NUMBER.test(c.callee)) throw new Error(`caller and callee must be numbers or plain user names ([A-Za-z0-9+*._-]): ${JSON.stringify(c)}`);
        }
        if (!(o.ratePerSecond > 0)) throw new Error('ratePerSecond must be above 0');
        const hold = o.holdMs ?? 200;
        const n = ++batch;
        const inf = join(dir, `calls-${n}.csv`);
        const outcomes = join(dir, `outcomes-${n}.log`);
        writeFileSync(inf, `SEQUENTIAL\n${calls.map((c) => `${c.caller};${c.callee}`).join('\n')}\n`);
        // SIPp gives up on a call after recvTimeout without the answer it waits for, and on itself after `-timeout`.
        const recvTimeout = 10_000;
        const expectedMs = (calls.length / o.ratePerSecond) * 1000 + hold + recvTimeout + 5000;
        const args = [
          `${HOST}:${kam.port}`, '-sf', UAC_XML, '-inf', inf, '-m', String(calls.length),
          '-r', String(o.ratePerSecond), '-rp', '1000', '-l', String(calls.length), '-d', String(hold),
          '-i', HOST, '-bind_local', '-nostdin',
          '-recv_timeout', String(recvTimeout), '-timeout', `${Math.ceil(expectedMs / 1000)}s`,
          '-trace_logs', '-log_file', outcomes, '-trace_err', '-error_file', join(dir, `uac-errors-${n}.log`),
          '-trace_stat', '-stf', join(dir, `uac-stats-${n}.csv`),
        ];
        const uac = launch(t.sipp, args, dir, `uac-${n}`);
        started.push(uac);
        let code: number | null;
        try {
          code = (await within(uac.exited, expectedMs + 5000)) ?? null;
          if (uac.exitCode() === undefined) throw new Error(`SIPp placing ${calls.length} calls did not finish in ${expectedMs + 5000} ms`);
        } finally {
          await terminate(uac, 500);
          if (started.includes(uac)) started.splice(started.indexOf(uac), 1);
        }
        // 0: every call went to its scenario's end; 1: some failed (timeout, unexpected answer): counted in `other`.
        if (code !== 0 && code !== 1) throw new Error(`SIPp exited ${code}:\n${tail(uac.stderrPath)}\n${tail(join(dir, `uac-${n}.out`))}`);
        const perCall = outcomesOf(calls, outcomes);
        // acc writes the BYE's line as the 200 goes out: give it the moment before the caller reads the log.
        await waitForAcc(readLog, perCall.filter((c) => c.outcome === 'answered').map((c) => c.callId));
        return {
          answered: perCall.filter((c) => c.outcome === 'answered').length,
          refused: perCall.filter((c) => c.outcome === 'refused').length,
          other: perCall.filter((c) => c.outcome === 'other').length,
          perCall,
        };
      },

      accLog(): string {
        const path = join(dir, 'acc.log');
        const lines = readLog().split('\n').filter((l) => l.includes('ACC: '));
        writeFileSync(path, lines.length > 0 ? `${lines.join('\n')}\n` : '');
        return path;
      },

      kamailioLog(): string {
        return kamStderr;
      },

      async stop(): Promise<void> {
        if (stopped) return;
        stopped = true;
        try {
          await stopAll();
        } finally {
          if (ownDir) rmSync(dir, { recursive: true, force: true });
        }
      },
    };
    return sw;
  } catch (e) {
    await stopAll().catch(() => undefined);
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** The outcome lines of uac.xml's <log> actions, by call number (the n-th line of the injection file). */
function outcomesOf(calls: Call[], path: string): CallOutcome[] {
  const byNumber = new Map<number, CallOutcome>();
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    // No call reached an outcome.
  }
  for (const line of text.split('\n')) {
    if (!line.startsWith('outcome=')) continue;
    const f = new Map(line.trim().split(';').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as [string, string]));
    const outcome = f.get('outcome');
    if (outcome !== 'answered' && outcome !== 'refused' && outcome !== 'other') continue;
    byNumber.set(Number(f.get('n')), {
      caller: f.get('caller') ?? '',
      callee: f.get('callee') ?? '',
      outcome,
      code: Number(f.get('code')) || 0,
      reason: (f.get('reason') ?? '').trim(),
      callId: f.get('call_id') ?? '',
    });
  }
  return calls.map((c, i) => {
    const o = byNumber.get(i + 1);
    if (o !== undefined && o.caller === c.caller && o.callee === c.callee) return o;
    return { ...c, outcome: 'other', code: 0, reason: o === undefined ? 'no final answer (see uac-errors)' : 'outcome of another call', callId: o?.callId ?? '' };
  });
}

async function waitForAcc(readLog: () => string, callIds: string[], timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const log = readLog();
    const missing = callIds.filter((id) => !new RegExp(`method=BYE;[^\\n]*;call_id=${escapeRe(id)};`).test(log));
    if (missing.length === 0 || Date.now() > until) return;
    await sleep(25);
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
