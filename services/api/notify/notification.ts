/**
 * What reaches people (issue 21 part 3): a new alert, an automatic lock, a case. The alert reactor of
 * `cdr serve` hands each to the Notifier (notifier.ts) once; the Notifier routes it to the channels of
 * config/notifications.yaml (notify-config.ts) and delivers it, durably, at least once per channel.
 *
 * A notice carries identifiers and figures, never a phone number beyond what the alert's message
 * already holds: an account written as a number is masked as the desk's log masks it.
 */
import { createHash } from 'node:crypto';
import type { Severity } from '../../core/alert.js';
import type { LockView } from '../../store/desk/account-locks.js';
import type { NewAlert } from '../../store/desk/alert-reactions.js';
import { maskPhoneNumbers } from '../log-masking.js';

export type { Severity };

export const NOTICE_KINDS = ['alert', 'lock', 'case'] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];

export const SEVERITY_ORDER: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/** An alert as the reactor hands it (the alert table's row, ISO times, value and threshold as text). */
export type AlertNotice = NewAlert;

/** A lock as the store holds it, with the rule and alert of the policy that set it ('' for a lock set by hand). */
export type LockNotice = LockView;

export interface CaseNotice {
  case_id: string;
  client_id: string;
  title: string;
  state: string;
  /** The case's most severe alert; '' when it has none. */
  severity: Severity | '';
  owner: string;
}

export type Notice = { kind: 'alert'; alert: AlertNotice } | { kind: 'lock'; lock: LockNotice } | { kind: 'case'; case: CaseNotice };

/** What a webhook receives (and what the delivery table keeps): `{ notice_id, kind, at, alert|lock|case }`. */
export type NoticeBody = { notice_id: string; at: string } & Notice;

/**
 * Stable across processes and restarts: the same alert at the same severity, the same lock set at the
 * same instant to the same level, the same case in the same state give the same id, so that the delivery
 * table (keyed by notice and channel) delivers it once. An alert raised to critical, a lock changed, a
 * case moved are new notices.
 */
export function noticeId(n: Notice): string {
  const key =
    n.kind === 'alert' ? `alert|${n.alert.alert_id}|${n.alert.severity}`
    : n.kind === 'lock' ? `lock|${n.lock.account}|${n.lock.level}|${Date.parse(n.lock.set_at)}`
    : `case|${n.case.case_id}|${n.case.state}`;
  return `nt-${n.kind}-${createHash('sha256').update(key).digest('hex').slice(0, 20)}`;
}

/** The id of what the notice is about: the alert, the account, the case. */
export function subjectIdOf(n: Notice): string {
  return n.kind === 'alert' ? n.alert.alert_id : n.kind === 'lock' ? n.lock.account : n.case.case_id;
}

/** The rule behind the notice; a case groups alerts of several rules and has none (''). */
export function ruleOf(n: Notice): string {
  return n.kind === 'alert' ? n.alert.rule : n.kind === 'lock' ? n.lock.rule : '';
}

/**
 * How severe, for a route's min_severity: an alert's own, a case's most severe alert's (info when it has
 * none), and critical for a lock (it bars calls).
 */
export function severityOf(n: Notice): Severity {
  return n.kind === 'alert' ? n.alert.severity : n.kind === 'lock' ? 'critical' : n.case.severity === '' ? 'info' : n.case.severity;
}

/** The notice as it is sent and kept: the account masked where it is a phone number. */
export function noticeBody(n: Notice, atMs: number): NoticeBody {
  const notice: Notice = n.kind === 'lock' ? { kind: 'lock', lock: { ...n.lock, account: maskPhoneNumbers(n.lock.account) } } : n;
  return { notice_id: noticeId(n), at: new Date(atMs).toISOString(), ...notice };
}

/** An e-mail's subject (and the desk's delivery log's): `[cdr] critical fraud.premium_destination C-0042`. */
export function subjectOf(b: Notice): string {
  switch (b.kind) {
    case 'alert':
      return `[cdr] ${b.alert.severity} ${b.alert.rule} ${b.alert.client_id}`;
    case 'lock':
      return `[cdr] lock ${b.lock.level} ${b.lock.client_id} ${maskPhoneNumbers(b.lock.account)}${b.lock.rule === '' ? '' : ` (${b.lock.rule})`}`;
    case 'case':
      return `[cdr] case ${b.case.state} ${b.case.severity === '' ? '' : `${b.case.severity} `}${b.case.client_id} ${b.case.title}`;
  }
}

/** An e-mail's plain-text body: one "field: value" line each, then the notice id. */
export function textOf(b: NoticeBody): string {
  const fields: [string, unknown][] =
    b.kind === 'alert'
      ? [['Alert', b.alert.alert_id], ['Rule', b.alert.rule], ['Severity', b.alert.severity], ['Client', b.alert.client_id], ['Site', b.alert.site_id],
         ['User', b.alert.user_id], ['Message', b.alert.message], ['First seen', b.alert.first_seen], ['Last seen', b.alert.last_seen],
         ['Value', b.alert.value], ['Threshold', b.alert.threshold]]
      : b.kind === 'lock'
        ? [['Account', b.lock.account], ['Client', b.lock.client_id], ['Site', b.lock.site_id], ['User', b.lock.user_id], ['Level', b.lock.level],
           ['Reason', b.lock.reason], ['Set at', b.lock.set_at], ['Expires at', b.lock.expires_at ?? 'never (lifted by hand)'], ['Rule', b.lock.rule || '(set by hand)'],
           ['Alert', b.lock.alert_id || '-']]
        : [['Case', b.case.case_id], ['Client', b.case.client_id], ['Title', b.case.title], ['State', b.case.state], ['Severity', b.case.severity || '-'],
           ['Owner', b.case.owner || 'nobody']];
  return `${fields.map(([k, v]) => `${k}: ${String(v)}`).join('\n')}\n\nNotice ${b.notice_id}, ${b.at}\n`;
}
