/**
 * CPU time by process kind while a phase runs (Linux /proc), so that a streaming figure can say where the
 * machine's cores went: the workers, `cdr ingest`, PostgreSQL's backends and the Kafka broker share them.
 * Processes are sampled every 500 ms; one that exits keeps its last sample (at most 500 ms lost).
 */
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // CLK_TCK on Linux

/** A process kind by its command line; null: not counted. */
export type Classify = (cmdline: string) => string | null;

export class CpuSampler {
  /** Per pid: kind, ticks when first seen (or 0 if born during the phase), latest ticks. */
  private readonly seen = new Map<number, { kind: string; first: number; last: number }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly classify: Classify) {}

  start(): void {
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), 500);
  }

  /** CPU seconds per kind since start. */
  stop(): Map<string, number> {
    if (this.timer !== null) clearInterval(this.timer);
    this.sample(false);
    const out = new Map<string, number>();
    for (const p of this.seen.values()) out.set(p.kind, (out.get(p.kind) ?? 0) + (p.last - p.first) / TICKS_PER_SECOND);
    return out;
  }

  private sample(atStart: boolean): void {
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      try {
        let known = this.seen.get(pid);
        if (known === undefined) {
          const kind = this.classify(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
          if (kind === null) continue;
          const ticks = ticksOf(pid);
          known = { kind, first: atStart ? ticks : 0, last: ticks };
          this.seen.set(pid, known);
        }
        known.last = ticksOf(pid);
      } catch {
        // gone between the listing and the read
      }
    }
  }
}

/** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat, after the command). */
function ticksOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
