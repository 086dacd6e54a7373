/** Pure rules of invoicing and of the desk's logs: which month a row is billed on, masking. */
import { describe, expect, it } from 'vitest';
import { billingMonth, nextMonth, type MonthClose } from '../../services/core/invoice/billing-month.js';
import { maskPhoneNumbers } from '../../services/api/log-masking.js';

describe('billing month', () => {
  const closes = new Map<string, MonthClose>([
    ['2026-03', { period: '2026-03', lastRatedSeq: 100, lastAdjustmentSeq: 10 }],
    ['2026-04', { period: '2026-04', lastRatedSeq: 200, lastAdjustmentSeq: 20 }],
  ]);
  it('bills a row on its own month while the month is open or if written before the close', () => {
    expect(billingMonth('2026-05', 999, 'rated', closes)).toBe('2026-05');
    expect(billingMonth('2026-03', 100, 'rated', closes)).toBe('2026-03');
    expect(billingMonth('2026-03', 10, 'adjustment', closes)).toBe('2026-03');
  });
  it('bills a late row on the first later month open when it was written', () => {
    expect(billingMonth('2026-03', 101, 'rated', closes)).toBe('2026-04');
    expect(billingMonth('2026-03', 200, 'rated', closes)).toBe('2026-04');
    expect(billingMonth('2026-03', 201, 'rated', closes)).toBe('2026-05');
    expect(billingMonth('2026-03', 11, 'adjustment', closes)).toBe('2026-04');
    expect(billingMonth('2026-04', 21, 'adjustment', closes)).toBe('2026-05');
  });
  it('crosses the year', () => {
    expect(nextMonth('2026-12')).toBe('2027-01');
    expect(billingMonth('2026-12', 5, 'rated', new Map([['2026-12', { period: '2026-12', lastRatedSeq: 4, lastAdjustmentSeq: 0 }]]))).toBe('2027-01');
  });
});

describe('phone numbers in logs', () => {
  it('keeps the head of a number and hides its last 4 digits', () => {
    expect(maskPhoneNumbers('/api/v1/locks/+33612345678?x=1')).toBe('/api/v1/locks/+3361234****?x=1');
    expect(maskPhoneNumbers('callee 0612345678 called')).toBe('callee 061234**** called');
  });
  it('leaves short numbers, dates and ids alone', () => {
    expect(maskPhoneNumbers('/api/v1/invoices/C-TCX-01/2026-03?limit=50')).toBe('/api/v1/invoices/C-TCX-01/2026-03?limit=50');
    expect(maskPhoneNumbers('U1001 12345')).toBe('U1001 12345');
  });
});
