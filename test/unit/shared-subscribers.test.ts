import { describe, expect, it } from 'vitest';
import type { Cdr, Subscriber } from '../../services/core/cdr.js';
import { SharedSubscribers } from '../../services/stream/shared-subscribers.js';

const subscriber: Subscriber = {
  account: 'sip-100', clientId: 'C-1', siteId: 'S-1', userId: 'U-1', planId: 'technicophone_centrex',
  lineType: 'centrex_user', channels: 1, automated: false, numbers: ['+33142000001', '+33142000002'],
};
const call = (cdrId: string, s: Subscriber): Cdr => ({
  cdrId, account: s.account, caller: s.numbers[0]!, callerOriginal: '', callee: '+33612345678', startMs: 0, answerMs: null, endMs: 1000,
  billableSeconds: 0, disposition: 'no_answer', direction: 'out', leg: 'originating', forwardReason: null, device: '', subscriber: s, source: 'f.csv', line: 2,
});

describe('one Subscriber object per account in a worker', () => {
  it('gives a decoded copy equal to the one seen before the object seen before', () => {
    const shared = new SharedSubscribers();
    const first = call('a', { ...subscriber, numbers: [...subscriber.numbers] });
    const second = call('b', { ...subscriber, numbers: [...subscriber.numbers] });
    shared.share(first);
    shared.share(second);
    expect(second.subscriber).toBe(first.subscriber);
  });

  it.each([
    ['another plan', { planId: 'technicophone_trunk' }],
    ['another site', { siteId: 'S-2' }],
    ['more channels', { channels: 4 }],
    ['declared automated', { automated: true }],
    ['a number fewer', { numbers: ['+33142000001'] }],
    ['another installation number', { numbers: ['+33142000002', '+33142000001'] }],
  ] as const)('keeps a copy that differs (%s: the directory changed since ingest), and shares it from then on', (_, change) => {
    const shared = new SharedSubscribers();
    const before = call('a', { ...subscriber });
    const changed = call('b', { ...subscriber, ...change });
    const again = call('c', { ...subscriber, ...change });
    shared.share(before);
    shared.share(changed);
    shared.share(again);
    expect(changed.subscriber).not.toBe(before.subscriber);
    expect(changed.subscriber).toEqual({ ...subscriber, ...change });
    expect(again.subscriber).toBe(changed.subscriber);
  });
});
