/**
 * One search box for the desk: GET /api/v1/search?q=…
 *
 * What q is read as, both when it can be both (a short number "3949" is also a possible user id):
 * - a phone number in any written form (06.12.34.56.78, 06 12 34 56 78, +33 6 12 34 56 78,
 *   +33 (0)6…, 0033…), put in E.164 by the numbering plan: the calls to and from it (indexed, latest
 *   first, counted up to a bound) and the subscriber whose number it is;
 * - an id, matched exactly: an alert or a case by id, alerts and cases of a client, site or user, cases
 *   of an owner, the directory's account, client, site and user.
 * Each result is typed and carries the API URL to open it. Every kind is bounded (RESULTS_PER_KIND).
 */
import type { FastifyInstance } from 'fastify';
import { DateTime } from 'luxon';
import type { Subscriber } from '../../core/cdr.js';
import type { NumberingPlan } from '../../core/numbering.js';
import type { SubscriberDirectory } from '../../ingest/subscriber-directory.js';
import { alertsMatching, callsOfNumber, casesMatching } from '../../store/desk/desk-search.js';
import { ANALYST } from '../roles.js';
import type { DeskContext } from '../server.js';
import { routeErrors } from '../response-schemas.js';

export const RESULTS_PER_KIND = 20;
const ZONE = 'Europe/Paris';
const ID = /^[A-Za-z0-9+._:@-]{1,128}$/;

export const HIT_TYPES = ['alert', 'case', 'subscriber', 'client', 'site', 'call'] as const;
export interface SearchHit {
  type: (typeof HIT_TYPES)[number];
  id: string;
  title: string;
  client_id: string;
  site_id: string;
  user_id: string;
  /** When it happened (an alert's first_seen, a call's start, a case's creation); null for a subscriber. */
  at: string | null;
  /** Which field of it equals the query (callee, caller, alert_id, client_id, account…). */
  matched: string;
  url: string;
}

const hitSchema = {
  type: 'object', additionalProperties: false, required: ['type', 'id', 'title', 'client_id', 'site_id', 'user_id', 'at', 'matched', 'url'],
  properties: {
    type: { type: 'string', enum: [...HIT_TYPES] }, id: { type: 'string' }, title: { type: 'string' }, client_id: { type: 'string' }, site_id: { type: 'string' },
    user_id: { type: 'string' }, at: { type: 'string', format: 'date-time', nullable: true }, matched: { type: 'string' },
    url: { type: 'string', description: 'the API URL that opens it' },
  },
} as const;

/** A typed query as a number in E.164 (or a short number's digits), or undefined when it is not one. */
export function readNumber(q: string, numbering: NumberingPlan): string | undefined {
  // "+33 (0)6 12…": the (0) is the national prefix written for readers, not dialled after +33.
  const text = q.trim().replace(/\(0\)/g, '');
  if (!/^\+?[\d\s.\-/()]+$/.test(text) || text.replace(/\D/g, '').length < 3) return undefined;
  try {
    return numbering.normalize(text);
  } catch {
    return undefined;
  }
}

/** The directory's subscribers by account, number, client, site and user (built once: the directory is fixed while serving). */
class DirectoryLookup {
  private readonly by = new Map<string, Subscriber[]>();
  constructor(directory: SubscriberDirectory) {
    for (const s of directory.all) {
      const keys = [`account:${s.account}`, `client:${s.clientId}`, `site:${s.siteId}`, `user:${s.userId}`, ...s.numbers.map((n) => `number:${n}`)];
      for (const k of new Set(keys)) this.by.set(k, [...(this.by.get(k) ?? []), s]);
    }
  }
  find(kind: 'account' | 'client' | 'site' | 'user' | 'number', value: string): Subscriber[] {
    return this.by.get(`${kind}:${value}`) ?? [];
  }
}

const enc = encodeURIComponent;
function subscriberUrl(client: string, site: string, user: string, period: string): string {
  const q = [site ? `site=${enc(site)}` : '', user ? `user=${enc(user)}` : '', `period=${period}`].filter((p) => p !== '');
  return `/api/v1/subscribers/${enc(client)}?${q.join('&')}`;
}

export async function searchRoutes(api: FastifyInstance, ctx: DeskContext): Promise<void> {
  const lookup = new DirectoryLookup(ctx.directory);

  api.get<{ Querystring: { q: string } }>('/search', {
    config: { roles: ANALYST },
    schema: {
      summary: 'Search by number (callee or caller, any written form), account, client, site, user, alert or case id', tags: ['search'],
      querystring: { type: 'object', additionalProperties: false, required: ['q'], properties: { q: { type: 'string', minLength: 1, maxLength: 100 } } },
      response: {
        200: {
          type: 'object', additionalProperties: false, required: ['q', 'read_as', 'number', 'calls_total', 'calls_capped', 'results', 'truncated'],
          properties: {
            q: { type: 'string' },
            read_as: { type: 'array', items: { type: 'string', enum: ['number', 'id'] }, description: 'what the query was read as' },
            number: { type: 'string', nullable: true, description: 'the number in E.164, when q is one' },
            calls_total: { type: 'integer', nullable: true, description: 'calls to or from the number (up to 10,000)' },
            calls_capped: { type: 'boolean' },
            results: { type: 'array', items: hitSchema },
            truncated: { type: 'boolean', description: `a kind had more than ${RESULTS_PER_KIND} results; narrow the query` },
          },
        },
        ...routeErrors({}, 400),
      },
    },
  }, async (req) => {
    const q = req.query.q.trim();
    const period = DateTime.fromMillis(ctx.now(), { zone: ZONE }).toFormat('yyyy-MM');
    // Analysts on one incident search the same number: the answer is shared while the store is unchanged.
    return ctx.monthAnswers.getStoreWide(`search|${period}|${q}`, () => search(q, period));
  });

  async function search(q: string, period: string) {
    const results: SearchHit[] = [];
    let truncated = false;
    const readAs: ('number' | 'id')[] = [];
    const subscriberHit = (s: Subscriber, matched: string, month = period): SearchHit => ({
      type: 'subscriber', id: s.account, title: `${s.account} (${s.clientId}/${s.siteId}/${s.userId})`, client_id: s.clientId, site_id: s.siteId, user_id: s.userId,
      at: null, matched, url: subscriberUrl(s.clientId, s.siteId, s.userId, month),
    });
    const capped = <T>(list: T[]): T[] => {
      if (list.length > RESULTS_PER_KIND) truncated = true;
      return list.slice(0, RESULTS_PER_KIND);
    };

    const number = readNumber(q, ctx.numbering);
    let callsTotal: number | null = null;
    let callsCapped = false;
    if (number !== undefined) {
      readAs.push('number');
      const calls = await callsOfNumber(ctx.sql, number, RESULTS_PER_KIND);
      // The number's subscriber opens on the month of its latest call: that is where the analyst is looking.
      results.push(...capped(lookup.find('number', number)).map((s) => subscriberHit(s, 'number', calls.latest[0]?.period)));
      callsTotal = calls.total;
      callsCapped = calls.capped;
      if (calls.total > calls.latest.length) truncated = true;
      results.push(...calls.latest.map((c): SearchHit => ({
        type: 'call', id: c.cdr_id, title: `${c.caller} → ${c.callee}, ${c.billable_seconds} s, ${c.amount} ${c.currency}`, client_id: c.client_id, site_id: c.site_id,
        user_id: c.user_id, at: c.start_time, matched: c.matched, url: subscriberUrl(c.client_id, c.site_id, c.user_id, c.period),
      })));
    }
    if (ID.test(q)) {
      readAs.push('id');
      const [alerts, cases] = await Promise.all([alertsMatching(ctx.sql, q, RESULTS_PER_KIND + 1), casesMatching(ctx.sql, q, RESULTS_PER_KIND + 1)]);
      results.push(...capped(cases).map((c): SearchHit => ({
        type: 'case', id: c.case_id, title: `${c.title} (${c.state}${c.owner ? `, ${c.owner}` : ''})`, client_id: c.client_id, site_id: c.site_id, user_id: c.user_id,
        at: c.created_at, matched: c.matched, url: `/api/v1/cases/${enc(c.case_id)}`,
      })));
      results.push(...capped(alerts).map((a): SearchHit => ({
        type: 'alert', id: a.alert_id, title: `${a.rule} (${a.severity}, ${a.status})`, client_id: a.client_id, site_id: a.site_id, user_id: a.user_id,
        at: a.first_seen, matched: a.matched, url: `/api/v1/alerts/${enc(a.alert_id)}`,
      })));
      const ofClient = lookup.find('client', q);
      if (ofClient.length > 0) {
        results.push({ type: 'client', id: q, title: `client ${q}: ${ofClient.length} subscriber line(s)`, client_id: q, site_id: '', user_id: '', at: null, matched: 'client_id', url: subscriberUrl(q, '', '', period) });
      }
      const sites = new Map(lookup.find('site', q).map((s) => [s.clientId, s]));
      results.push(...capped([...sites.values()]).map((s): SearchHit => ({
        type: 'site', id: s.siteId, title: `site ${s.siteId} of ${s.clientId}`, client_id: s.clientId, site_id: s.siteId, user_id: '', at: null, matched: 'site_id', url: subscriberUrl(s.clientId, s.siteId, '', period),
      })));
      results.push(...capped(lookup.find('account', q)).map((s) => subscriberHit(s, 'account')));
      results.push(...capped(lookup.find('user', q)).map((s) => subscriberHit(s, 'user_id')));
    }
    return { q, read_as: readAs, number: number ?? null, calls_total: callsTotal, calls_capped: callsCapped, results, truncated };
  }
}
