/**
 * Crash points for the crash-safety suite (test/e2e/crash-safety.test.ts): `CDR_FAULT=<phase>:<n>` makes
 * `cdr rate` kill itself with SIGKILL — exactly what `kill -9` does — the n-th time it passes that phase,
 * so that every phase of a run can be crashed on purpose and the re-run checked. Unset, it does nothing.
 */
export type FaultPhase = 'read' | 'rate' | 'commit' | 'committed' | 'export' | 'exported';

const wanted = parse(process.env.CDR_FAULT);
const passes = new Map<FaultPhase, number>();

export function faultPoint(phase: FaultPhase): void {
  if (wanted === null || wanted.phase !== phase) return;
  const n = (passes.get(phase) ?? 0) + 1;
  passes.set(phase, n);
  if (n === wanted.at) process.kill(process.pid, 'SIGKILL');
}

function parse(spec: string | undefined): { phase: FaultPhase; at: number } | null {
  if (spec === undefined || spec === '') return null;
  const [phase, at] = spec.split(':');
  return { phase: phase as FaultPhase, at: Number(at ?? 1) };
}
