/**
 * The figures of the page's daily chart, per Europe/Paris day, kept for a minute and shared: a chart of
 * any (days, until) is put together from the days already known, and the days missing are read together.
 * Requests that arrive while a read runs join the next one, so ten analysts asking ten windows cost two
 * scans of the month, not ten. The scans run off the event loop (heavy-reads.ts).
 */
import { DateTime } from 'luxon';
import { Money } from '../core/money.js';
import { HOUR_MS, type HourlyFigures } from '../store/desk/daily-figures.js';
import type { HeavyReads } from './heavy-reads.js';

export const CHART_ZONE = 'Europe/Paris';
/** How long a day's figures are served before being read again (calls arrive and are re-priced). */
export const DAY_FIGURES_TTL_MS = 60_000;
/** Beyond this many days kept, the stale ones are dropped (a day is a few hundred bytes). */
const MAX_DAYS_KEPT = 5_000;

export interface DayFigures {
  /** Out-of-bundle spend per currency. */
  spend: Map<string, Money>;
  /** Alerts first seen that day, per rule. */
  alerts: Map<string, number>;
}

/** A Europe/Paris day: its name and its UTC edges (whole hours). */
export interface ParisDay {
  day: string;
  startMs: number;
  endMs: number;
}

/** The `count` days ending with `last` (yyyy-MM-dd), oldest first. */
export function parisDays(last: string, count: number): ParisDay[] {
  const end = DateTime.fromISO(last, { zone: CHART_ZONE }).startOf('day').plus({ days: 1 });
  const days: ParisDay[] = [];
  for (let d = end.minus({ days: count }); d < end; d = d.plus({ days: 1 })) {
    days.push({ day: d.toFormat('yyyy-MM-dd'), startMs: d.toMillis(), endMs: d.plus({ days: 1 }).toMillis() });
  }
  return days;
}

interface Entry {
  readAt: number;
  figures: Promise<DayFigures>;
}

export class DayFiguresCache {
  private readonly days = new Map<string, Entry>();
  /** Days asked for while a read runs: read together once it ends. */
  private pending = new Map<string, { day: ParisDay; resolve: (f: DayFigures) => void; reject: (e: Error) => void }>();
  private reading = false;

  constructor(
    private readonly reads: HeavyReads,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  async figures(days: readonly ParisDay[]): Promise<DayFigures[]> {
    const now = this.clock();
    const wanted = days.map((d) => {
      const hit = this.days.get(d.day);
      if (hit !== undefined && now - hit.readAt < DAY_FIGURES_TTL_MS) return hit.figures;
      return this.ask(d, now);
    });
    this.readPending();
    return Promise.all(wanted);
  }

  private ask(day: ParisDay, now: number): Promise<DayFigures> {
    const figures = new Promise<DayFigures>((resolve, reject) => this.pending.set(day.day, { day, resolve, reject }));
    // A failed read is not kept: the next request reads the day again.
    figures.catch(() => {
      if (this.days.get(day.day)?.figures === figures) this.days.delete(day.day);
    });
    if (this.days.size >= MAX_DAYS_KEPT) this.dropStale(now);
    this.days.set(day.day, { readAt: now, figures });
    return figures;
  }

  private readPending(): void {
    if (this.reading || this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.reading = true;
    const asked = [...batch.values()];
    const since = Math.min(...asked.map((a) => a.day.startMs));
    const until = Math.max(...asked.map((a) => a.day.endMs));
    this.reads
      .hourly(since, until)
      .then(
        (hourly) => {
          const byDay = figuresByDay(hourly);
          for (const a of asked) a.resolve(byDay.get(a.day.day) ?? { spend: new Map(), alerts: new Map() });
        },
        (e: unknown) => {
          for (const a of asked) a.reject(e instanceof Error ? e : new Error(String(e)));
        },
      )
      .finally(() => {
        this.reading = false;
        this.readPending();
      });
  }

  private dropStale(now: number): void {
    for (const [day, e] of this.days) if (now - e.readAt >= DAY_FIGURES_TTL_MS) this.days.delete(day);
    if (this.days.size >= MAX_DAYS_KEPT) this.days.clear();
  }
}

/** Hours to Paris days: each hour belongs to exactly one day, since Paris is a whole number of hours from UTC. */
function figuresByDay(h: HourlyFigures): Map<string, DayFigures> {
  const dayOfHour = new Map<number, string>();
  const dayOf = (hour: number) => {
    let d = dayOfHour.get(hour);
    if (d === undefined) dayOfHour.set(hour, (d = DateTime.fromMillis(hour * HOUR_MS, { zone: CHART_ZONE }).toFormat('yyyy-MM-dd')));
    return d;
  };
  const byDay = new Map<string, DayFigures>();
  const of = (hour: number) => {
    const d = dayOf(hour);
    let f = byDay.get(d);
    if (f === undefined) byDay.set(d, (f = { spend: new Map(), alerts: new Map() }));
    return f;
  };
  for (const s of h.spend) {
    const f = of(s.hour);
    f.spend.set(s.currency, (f.spend.get(s.currency) ?? new Money(0)).plus(new Money(s.amount)));
  }
  for (const a of h.alerts) {
    const f = of(a.hour);
    f.alerts.set(a.rule, (f.alerts.get(a.rule) ?? 0) + a.count);
  }
  return byDay;
}
