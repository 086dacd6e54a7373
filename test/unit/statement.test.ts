/**
 * The detailed statement's pure parts: how a called number is masked, and that a statement which does
 * not add up to its invoice is refused instead of printed.
 */
import { describe, expect, it } from 'vitest';
import { composeInvoice } from '../../services/core/invoice/compose-invoice.js';
import { maskCalledNumber } from '../../services/core/invoice/masked-number.js';
import { StatementMismatch, buildStatement, type DetailedCall } from '../../services/core/invoice/statement.js';
import { hm, hms } from '../../services/invoice/statement-html.js';

describe('called numbers on a statement', () => {
  it.each([
    ['+33145670000', '+33 1 45 67 XX XX'],
    ['+33612345678', '+33 6 12 34 XX XX'],
    ['+442079460000', '+44 20 7946 XXXX'],
    ['+15145550123', '+1 514 555 XXXX'],
    // Not E.164 (an extension, a number kept as dialled): the last four digits as written.
    ['0145670000', '014567XXXX'],
    ['116000', '11XXXX'],
    ['3179', '3179'],
    ['15', '15'],
    ['112', '112'],
  ])('%s is printed %s', (number, printed) => {
    expect(maskCalledNumber(number)).toBe(printed);
  });
});

describe('durations', () => {
  it('prints calls as h:mm:ss and counters as h:mm', () => {
    expect(hms(3725)).toBe('1:02:05');
    expect(hms(59)).toBe('0:00:59');
    expect(hm(144_000)).toBe('40:00');
    expect(hm(1080)).toBe('0:18');
  });
});

describe('a statement against its invoice', () => {
  const call = (cdrId: string, amount: string): DetailedCall => ({
    cdrId, period: '2026-03', destinationClass: 'fr_fixed', country: 'FR', billableSeconds: 60, inBundle: false, firstAmount: amount,
    currency: 'EUR', reason: 'metered', startTime: '2026-03-02T08:00:00Z', callee: '+33145670000', siteId: 'S', userId: 'U', planId: 'p',
  });
  const invoiceOf = (calls: DetailedCall[]) => composeInvoice({ clientId: 'C', period: '2026-03', calls, adjustments: [], defaultCurrency: 'EUR', vatRate: '20', close: null });
  const input = (calls: DetailedCall[], invoiced: DetailedCall[]) => ({ invoice: invoiceOf(invoiced), calls, adjustments: [], adjustedCalls: new Map(), counters: [], plans: new Map() });

  it('lists the calls the invoice bills, their sum equal to its exact total', () => {
    const calls = [call('a', '0.0333'), call('b', '0.0333'), call('c', '0.0334')];
    const s = buildStatement(input(calls, calls));
    expect(s.callsAmount).toBe('0.1');
    expect(s.totals.total_ht).toBe('0.10');
    expect(s.sections[0]!.calls.map((c) => c.callee)).toEqual(['+33 1 45 67 XX XX', '+33 1 45 67 XX XX', '+33 1 45 67 XX XX']);
  });

  it('refuses to print a statement whose calls do not add up to the invoice', () => {
    const invoiced = [call('a', '0.0333'), call('b', '0.0333')];
    expect(() => buildStatement(input([call('a', '0.0333'), call('b', '0.0400')], invoiced))).toThrow(StatementMismatch);
    expect(() => buildStatement(input([call('a', '0.0333')], invoiced))).toThrow(/does not match its invoice: 1 calls and adjustments for 0.0333 in the store, 2 calls for 0.0666 on the invoice/);
  });
});
