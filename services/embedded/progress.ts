/**
 * Progress of a long run: a line on a terminal that follows the files and the records, nothing when the
 * output is a pipe or a file (CI, cron), so that logs stay quiet apart from the final summary.
 */
export interface Progress {
  start(files: number): void;
  file(index: number, path: string): void;
  update(read: number, rated: number): void;
  stop(): void;
}

/** `counted`: what the second number counts (`rated`; `cdr inspect` counts the records it could use). */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr, counted = 'rated'): Progress | undefined {
  if (!stream.isTTY) return undefined;
  let files = 0;
  let current = '';
  let started = 0;
  return {
    start(n) {
      files = n;
      started = performance.now();
    },
    file(index) {
      current = `file ${index}/${files}`;
    },
    update(read, rated) {
      const perSecond = Math.round(read / Math.max(0.001, (performance.now() - started) / 1000));
      stream.write(`\r${current}: ${read.toLocaleString('en')} records read, ${rated.toLocaleString('en')} ${counted} (${perSecond.toLocaleString('en')}/s)   `);
    },
    stop() {
      stream.write('\n');
    },
  };
}
