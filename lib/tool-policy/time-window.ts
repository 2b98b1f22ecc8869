// Time windows read the clock in the rule's zone (Intl), so "weekdays 09:00-18:00 Europe/Paris"
// follows Paris' daylight saving without anyone editing the rule.
import { WEEKDAYS, type TimeWindow, type Weekday } from './types';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, format);
  }
  return format;
}

/** The weekday and minute of the day at `at` in `timeZone`. */
export function localClock(at: Date, timeZone: string): { day: Weekday; minute: number } {
  const parts = formatter(timeZone).formatToParts(at);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((entry) => entry.type === type)?.value ?? '';
  const day = part('weekday').toLowerCase().slice(0, 3) as Weekday;
  if (!WEEKDAYS.includes(day)) throw new Error(`unexpected weekday "${part('weekday')}" for ${timeZone}`);
  return { day, minute: Number(part('hour')) * 60 + Number(part('minute')) };
}

function minutes(clock: string): number {
  const [hours, mins] = clock.split(':');
  return Number(hours) * 60 + Number(mins);
}

/**
 * From (inclusive) to (exclusive), on the listed days (all when absent). A `to` earlier than
 * `from` runs past midnight; the day checked is the local day of `at`, so a Friday 22:00-06:00
 * window covers Friday from 22:00 and Friday until 06:00, not Saturday morning.
 */
export function withinTimeWindow(window: TimeWindow, at: Date): boolean {
  const { day, minute } = localClock(at, window.timeZone ?? 'UTC');
  if (window.days && !window.days.includes(day)) return false;
  const from = window.from === undefined ? 0 : minutes(window.from);
  const to = window.to === undefined ? 24 * 60 : minutes(window.to);
  return from <= to ? minute >= from && minute < to : minute >= from || minute < to;
}
