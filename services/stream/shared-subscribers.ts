/**
 * One Subscriber object per account in a worker. Every decoded message carries a new copy of its
 * subscriber, and the rater's per-subscriber caches are keyed by the object (plan-counters.ts makes a
 * subscriber's counters once per plan and month): with a copy per call, each call rebuilt them, asked the
 * directory for the site's users again and left garbage behind. A copy equal to the one seen before is
 * replaced by it; one that differs (the directory changed between ingest and now) takes its place.
 */
import type { Cdr, Subscriber } from '../core/cdr.js';

/** Accounts remembered before starting afresh: a directory's worth, whatever a producer sends. */
const MAX_ACCOUNTS = 200_000;

export class SharedSubscribers {
  private readonly byAccount = new Map<string, Subscriber>();

  /** Points `cdr.subscriber` at the shared object of its account. */
  share(cdr: Cdr): void {
    const decoded = cdr.subscriber;
    const known = this.byAccount.get(decoded.account);
    if (known !== undefined && sameSubscriber(known, decoded)) {
      cdr.subscriber = known;
      return;
    }
    if (this.byAccount.size >= MAX_ACCOUNTS) this.byAccount.clear();
    this.byAccount.set(decoded.account, decoded);
  }
}

function sameSubscriber(a: Subscriber, b: Subscriber): boolean {
  if (
    a.clientId !== b.clientId || a.siteId !== b.siteId || a.userId !== b.userId || a.planId !== b.planId ||
    a.lineType !== b.lineType || a.channels !== b.channels || a.automated !== b.automated || a.numbers.length !== b.numbers.length
  ) {
    return false;
  }
  return a.numbers.every((n, i) => n === b.numbers[i]);
}
