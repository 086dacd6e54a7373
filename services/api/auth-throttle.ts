/**
 * Guessing tokens from one address is cut short: after MAX_FAILURES unknown or revoked tokens within
 * WINDOW_MS, that address gets 429 with Retry-After until the window ends, and its tokens are not even
 * looked up meanwhile. Kept in memory (one process serves the desk); the table is bounded.
 */
export const MAX_FAILURES = 10;
export const WINDOW_MS = 60_000;
const MAX_ADDRESSES = 10_000;

export class FailedTokenThrottle {
  private readonly failures = new Map<string, { since: number; count: number }>();

  constructor(private readonly clock: () => number) {}

  /** Seconds the address must wait, or 0 when it may try. */
  retryAfterSeconds(address: string): number {
    const f = this.failures.get(address);
    if (f === undefined) return 0;
    const left = f.since + WINDOW_MS - this.clock();
    if (left <= 0) {
      this.failures.delete(address);
      return 0;
    }
    return f.count >= MAX_FAILURES ? Math.ceil(left / 1000) : 0;
  }

  fail(address: string): void {
    const now = this.clock();
    const f = this.failures.get(address);
    if (f !== undefined && now - f.since < WINDOW_MS) {
      f.count += 1;
      return;
    }
    if (this.failures.size >= MAX_ADDRESSES) this.dropExpired(now);
    this.failures.set(address, { since: now, count: 1 });
  }

  private dropExpired(now: number): void {
    for (const [a, f] of this.failures) if (now - f.since >= WINDOW_MS) this.failures.delete(a);
    // Still full: a flood of addresses; forgetting them all costs at most one more window of guesses each.
    if (this.failures.size >= MAX_ADDRESSES) this.failures.clear();
  }
}
