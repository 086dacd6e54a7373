/**
 * Times and durations of mapping profiles: the time formats a profile may declare (`iso`, epoch, or a
 * pattern such as `DD/MM/YY HH:MM`), how a wall-clock time becomes an instant in the profile's zone, and
 * the computed times (end = start + duration, answer = end − billable) done on instants, so that a call
 * across midnight or a DST change ends when it ended.
 */
import type { Zone } from '../../core/calendar.js';
import { epochSecondsToIso } from '../epoch-time.js';

export const TIME_FORMAT_HELP =
  "'iso' (2026-01-15T10:00:00+01:00, offset optional), 'epoch_seconds', 'epoch_millis', or a pattern of YYYY (or YY), MM (or MMM: Jan…Dec), DD, HH, MM, SS such as 'DD/MM/YYYY HH:MM:SS' (the MM after HH is minutes; without a year, the year is the latest that does not put the call after the file was written)";

/** MMM: English month abbreviations, as web reports print dates (`04 Oct 2026`). */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export type WallParts = { y: number; mo: number; d: number; h: number; mi: number; s: number };
/** A parsed time: a wall-clock reading (y = 0 when the format has no year), or an instant. */
export type ParsedTime = { wall: WallParts } | { iso: string };
export type TimeParser = (text: string) => ParsedTime | null;

/** 'iso' | 'epoch_seconds' | 'epoch_millis' | pattern → parser, or null for an unusable format. */
export function compileTimeFormat(format: string): TimeParser | null {
  if (format === 'iso') {
    return (t) => {
      const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:[.,]\d+)?\s*(Z|[+-]\d{2}:?\d{2})?$/.exec(t);
      if (!m) return null;
      if (m[7] !== undefined) return { iso: t };
      return { wall: { y: +m[1]!, mo: +m[2]!, d: +m[3]!, h: +m[4]!, mi: +m[5]!, s: m[6] === undefined ? 0 : +m[6] } };
    };
  }
  if (format === 'epoch_seconds' || format === 'epoch_millis') {
    const scale = format === 'epoch_seconds' ? 1000 : 1;
    return (t) => {
      if (!/^\d+(\.\d+)?$/.test(t)) return null;
      return { iso: epochSecondsToIso((Number(t) * scale) / 1000, t) };
    };
  }
  const order: (keyof WallParts | 'yy' | 'mon')[] = [];
  let sawMonth = false;
  let source = '';
  for (const token of format.match(/YYYY|YY|MMM|MM|DD|HH|mm|SS|ss|[^YMDHSms]+|./g) ?? []) {
    switch (token) {
      case 'MMM':
        order.push('mon');
        sawMonth = true;
        source += `(${MONTHS.join('|')})`;
        break;
      case 'YYYY':
        order.push('y');
        source += '(\\d{4})';
        break;
      case 'YY':
        order.push('yy');
        source += '(\\d{2})';
        break;
      case 'MM':
        order.push(sawMonth ? 'mi' : 'mo');
        sawMonth = true;
        source += '(\\d{1,2})';
        break;
      case 'mm':
        order.push('mi');
        source += '(\\d{1,2})';
        break;
      case 'DD':
        order.push('d');
        source += '(\\d{1,2})';
        break;
      case 'HH':
        order.push('h');
        source += '(\\d{1,2})';
        break;
      case 'SS':
      case 'ss':
        order.push('s');
        source += '(\\d{1,2})';
        break;
      default:
        if (/[YMDHSms]/.test(token)) return null;
        source += token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/ /g, '\\s+');
    }
  }
  if (!order.includes('mo') && !order.includes('mon')) return null;
  for (const needed of ['d', 'h', 'mi'] as const) if (!order.includes(needed)) return null;
  if (new Set(order).size !== order.length || (order.includes('y') && order.includes('yy')) || (order.includes('mo') && order.includes('mon'))) return null;
  const re = new RegExp(`^${source}$`, 'i');
  return (t) => {
    const m = re.exec(t);
    if (!m) return null;
    const wall: WallParts = { y: 0, mo: 0, d: 0, h: 0, mi: 0, s: 0 };
    // Two-digit years are this century's: no switch still running wrote its CDRs before 2000.
    order.forEach((k, i) => {
      const v = m[i + 1]!;
      if (k === 'yy') wall.y = 2000 + Number(v);
      else if (k === 'mon') wall.mo = MONTHS.indexOf(v.slice(0, 1).toUpperCase() + v.slice(1).toLowerCase()) + 1;
      else wall[k] = Number(v);
    });
    return { wall };
  };
}

/**
 * The year of a date written without one (Mitel SMDR `mm/dd`): the latest year that does not put the
 * call after `writtenMs`, when the file was last written. A December call in a file written in January
 * is last year's.
 */
export function withYear(w: WallParts, writtenMs: number, zone: Zone | null): WallParts {
  if (w.y !== 0) return w;
  const written = new Date(writtenMs + (zone === null ? 0 : zone.offsetAt(writtenMs)));
  const y = written.getUTCFullYear();
  const later = w.mo - 1 > written.getUTCMonth() || (w.mo - 1 === written.getUTCMonth() && w.d > written.getUTCDate());
  return { ...w, y: later ? y - 1 : y };
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
const wallText = (w: WallParts): string => `${pad(w.y, 4)}-${pad(w.mo)}-${pad(w.d)} ${pad(w.h)}:${pad(w.mi)}:${pad(w.s)}`;

/** A time as SourceRecord text, and its instant when the profile knows it. */
export type SourceTime = { text: string; ms: number | null };

/**
 * Text for SourceRecord: an instant (ISO with offset) when the profile knows the zone or the format is
 * absolute, else the wall-clock text that normalize reads in the run's source zone. In the autumn
 * overlap, a time after `notBeforeMs` takes the occurrence that does not precede it.
 */
export function toSourceTime(parsed: ParsedTime, zone: Zone | null, notBeforeMs: number | null): SourceTime {
  if ('iso' in parsed) return { text: parsed.iso, ms: Date.parse(parsed.iso.replace(' ', 'T')) };
  const w = parsed.wall;
  // An impossible wall time (31/02, 25:00) goes on as text for the normaliser to reject, not rolled over.
  if (zone === null || !isRealWallTime(w)) return { text: wallText(w), ms: null };
  const res = zone.resolveLocal(Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s));
  const ms = res.kind === 'overlap' && notBeforeMs !== null && res.ms < notBeforeMs ? res.laterMs : res.ms;
  return { text: zone.iso(ms), ms };
}

/** The instant `ms` as SourceRecord text: with the profile zone's offset, or in UTC. */
export function instantText(ms: number, zone: Zone | null): SourceTime {
  return { text: zone === null ? new Date(ms).toISOString().replace('.000Z', 'Z') : zone.iso(ms), ms };
}

function isRealWallTime(w: WallParts): boolean {
  const d = new Date(Date.UTC(w.y, w.mo - 1, w.d));
  return d.getUTCMonth() === w.mo - 1 && d.getUTCDate() === w.d && w.h < 24 && w.mi < 60 && w.s < 60;
}

/** Whole seconds from `180`, `3:00` or `0:03:00` (leading blanks or zeros of a fixed-width field allowed), or null. */
export function secondsOf(text: string): number | null {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const m = /^(?:(\d+):)?(\d+):(\d{2})$/.exec(t);
  if (!m) return null;
  return Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

/** billable_seconds as SourceRecord text: whole seconds, or the text as it was for the normaliser to reject. */
export function billableText(text: string): string {
  const s = secondsOf(text);
  return s === null ? text : String(s);
}
