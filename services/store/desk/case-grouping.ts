/**
 * Automatic grouping of alerts into cases: one incident (a spend-velocity burst raises an alert per
 * hour and per ceiling) becomes one case instead of six critical lines.
 *
 * Two alerts are of one incident when they are of the same client, name the same user or one of them
 * names none (a client-wide alert, e.g. call setups per second, joins its users' alerts), and their
 * windows [first_seen, last_seen] overlap or lie at most `gapMs` apart (inclusive: exactly N minutes
 * apart is one incident, N minutes and a second is two). Incidents are the connected groups of that
 * relation. Only alerts still worked (open or acknowledged) are grouped.
 *
 * A group that meets an unresolved case (one of its alerts is in it) joins that case; a group of two
 * loose alerts or more becomes a new case; a lone alert stays a lone alert (the desk can make a case of
 * it by hand). Two unresolved cases never merge by themselves: that is a person's decision.
 */
import type { Sql } from '../sql.js';
import { msOf } from '../row-values.js';
import { attachIn, caseRow, createCaseIn, type CaseView } from './fraud-cases.js';

export interface GroupAlert {
  alert_id: string;
  client_id: string;
  user_id: string;
  firstMs: number;
  lastMs: number;
  /** The unresolved case it is in, or null for a loose alert. */
  case_id: string | null;
}

/** How many worked alerts one grouping run looks at (the oldest first): a bound on its work. */
export const GROUPING_LIMIT = 5_000;

function related(a: GroupAlert, b: GroupAlert, gapMs: number): boolean {
  if (a.client_id !== b.client_id) return false;
  if (a.user_id !== b.user_id && a.user_id !== '' && b.user_id !== '') return false;
  return a.firstMs <= b.lastMs + gapMs && b.firstMs <= a.lastMs + gapMs;
}

/** The incidents among these alerts: connected groups, each in first_seen order (pure, for tests). */
export function incidents(alerts: readonly GroupAlert[], gapMs: number): GroupAlert[][] {
  const parent = alerts.map((_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  // Per client, pairwise: a client has tens of worked alerts, not thousands (GROUPING_LIMIT bounds it).
  const byClient = new Map<string, number[]>();
  alerts.forEach((a, i) => byClient.set(a.client_id, [...(byClient.get(a.client_id) ?? []), i]));
  for (const members of byClient.values()) {
    for (let x = 0; x < members.length; x++) {
      for (let y = x + 1; y < members.length; y++) {
        const i = members[x]!;
        const j = members[y]!;
        if (related(alerts[i]!, alerts[j]!, gapMs)) parent[root(i)] = root(j);
      }
    }
  }
  const groups = new Map<number, GroupAlert[]>();
  alerts.forEach((a, i) => groups.set(root(i), [...(groups.get(root(i)) ?? []), a]));
  return [...groups.values()].map((g) => g.sort((a, b) => a.firstMs - b.firstMs || a.alert_id.localeCompare(b.alert_id)));
}

export interface GroupingResult {
  created: CaseView[];
  attached: { case_id: string; alert_ids: string[] }[];
}

/** Groups the worked alerts now, in one transaction; each case made or grown is audited. */
export async function groupAlerts(sql: Sql, o: { gapMs: number; actor: string; comment: string; atMs: number }): Promise<GroupingResult> {
  return sql.transaction(async (tx) => {
    const rows = await tx.query<{ alert_id: string; client_id: string; user_id: string; first_seen: unknown; last_seen: unknown; case_id: string | null }>(
      `SELECT a.alert_id, a.client_id, a.user_id, a.first_seen, a.last_seen, ca.case_id
         FROM alert a LEFT JOIN case_alert ca ON ca.alert_id = a.alert_id LEFT JOIN fraud_case c ON c.case_id = ca.case_id
        WHERE a.status IN ('open', 'acknowledged') AND (ca.case_id IS NULL OR c.state <> 'resolved')
        ORDER BY a.first_seen, a.alert_id LIMIT $1`,
      [GROUPING_LIMIT],
    );
    const alerts: GroupAlert[] = rows.map((r) => ({
      alert_id: r.alert_id, client_id: r.client_id, user_id: r.user_id, firstMs: msOf(r.first_seen)!, lastMs: msOf(r.last_seen)!, case_id: r.case_id ?? null,
    }));
    const result: GroupingResult = { created: [], attached: [] };
    for (const group of incidents(alerts, o.gapMs)) {
      const loose = group.filter((a) => a.case_id === null).map((a) => a.alert_id);
      if (loose.length === 0) continue;
      // The case this incident already has; of several, the one its earliest alert is in.
      const existing = group.find((a) => a.case_id !== null)?.case_id;
      if (existing !== undefined && existing !== null) {
        const target = (await caseRow(tx, existing))!;
        const outcomes = await attachIn(tx, target, loose, o.actor, o.comment, o.atMs);
        result.attached.push({ case_id: existing, alert_ids: outcomes.filter((x) => x.ok).map((x) => x.alert_id) });
      } else if (loose.length >= 2) {
        const made = await createCaseIn(tx, { alertIds: loose, actor: o.actor, comment: o.comment, atMs: o.atMs, action: 'group' });
        if (made.ok) result.created.push(made.case);
      }
    }
    return result;
  });
}
