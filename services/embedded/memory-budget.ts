/**
 * A run's memory follows its chunk and the active subscribers, but V8 collects garbage lazily: on a
 * machine with 24 GB it lets the heap of a long run grow to gigabytes of dead chunks before it looks.
 * After each committed chunk, past a budget, the run asks for a full collection itself, so that its
 * resident memory stays near what it really holds (about a second per million CDRs).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const BUDGET_BYTES = 256 * 1024 * 1024;

let collect: (() => void) | null = null;

export function keepHeapWithinBudget(budgetBytes = BUDGET_BYTES): void {
  if (process.memoryUsage().heapUsed < budgetBytes) return;
  if (collect === null) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}
