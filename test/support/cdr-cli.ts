/** The built `cdr` command for end-to-end tests: one-shot commands, and `cdr serve` as a child process. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

export const CLI = resolve('dist/services/cli/main.js');

/** Runs `cdr args…` and returns its stdout; throws with its stderr when it fails. */
export function cdr(args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'warn' } });
  if (r.status !== 0) throw new Error(`cdr ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Starts `cdr serve args… --port 0` and resolves with the process and its base URL once it listens. */
export async function startServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ server: ChildProcess; base: string }> {
  const server = spawn(process.execPath, [CLI, 'serve', ...args, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const base = await new Promise<string>((ok, fail) => {
    let out = '';
    server.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /fraud desk on (http:\/\/\S+?)\//.exec(out);
      if (m) ok(m[1]!);
    });
    server.stderr!.on('data', () => {});
    server.once('exit', (code) => fail(new Error(`cdr serve exited with ${code}`)));
  });
  return { server, base };
}
