/**
 * Progress of a long run: a bar on a terminal, nothing when the output is a pipe or a file (CI, cron),
 * so that logs stay quiet apart from the final summary.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  reading(records: number): void;
  start(total: number): void;
  update(done: number): void;
  stop(): void;
}

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress | undefined {
  if (!stream.isTTY) return undefined;
  let bar: cliProgress.SingleBar | null = null;
  return {
    reading(records) {
      stream.write(`\rreading… ${records.toLocaleString('en')} records`);
    },
    start(total) {
      stream.write('\n');
      if (total < 50_000) return;
      bar = new cliProgress.SingleBar({ stream, format: 'rating [{bar}] {percentage}% {value}/{total} CDRs, eta {eta}s' }, cliProgress.Presets.shades_classic);
      bar.start(total, 0);
    },
    update(done) {
      bar?.update(done);
    },
    stop() {
      bar?.stop();
    },
  };
}
