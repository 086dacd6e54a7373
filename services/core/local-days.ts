/**
 * The calendar day and month of an instant in a zone, as rating and fraud ask for them on every call
 * (the tariff's day, the counters' and the monthly alerts' month): worked out once per local day, then
 * looked up.
 */
import type { Zone } from './calendar.js';

const DAY_MS = 86_400_000;

export interface LocalDay {
  /** YYYY-MM-DD */
  day: string;
  /** YYYY-MM */
  period: string;
}

const byZone = new WeakMap<Zone, LocalDays>();

export class LocalDays {
  private readonly days = new Map<number, LocalDay>();
  private lastIndex = NaN;
  private last: LocalDay | null = null;

  private constructor(private readonly zone: Zone) {}

  static of(zone: Zone): LocalDays {
    let days = byZone.get(zone);
    if (days === undefined) byZone.set(zone, (days = new LocalDays(zone)));
    return days;
  }

  at(ms: number): LocalDay {
    // The local wall-clock day: what zone.day and zone.period read the date from.
    const index = Math.floor((ms + this.zone.offsetAt(ms)) / DAY_MS);
    if (index === this.lastIndex) return this.last!;
    let local = this.days.get(index);
    if (local === undefined) {
      local = { day: this.zone.day(ms), period: this.zone.period(ms) };
      this.days.set(index, local);
    }
    this.lastIndex = index;
    this.last = local;
    return local;
  }
}
