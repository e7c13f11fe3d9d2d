import { Schedule, WEEKDAYS } from './policy-file';

/**
 * Weekly windows in an IANA time zone → the instants they open and close. Evaluation never reads a clock: the
 * control plane's scheduler calls `scheduleBoundaries` for the time ahead, appends ScheduleWindowOpened/Closed
 * events when each instant passes, and projections evaluate with the set of open windows those events imply — so
 * a replay yields the same history. Zone offsets come from Intl.DateTimeFormat (the runtime's tz database).
 *
 * Local times that do not exist (the skipped hour of a spring-forward) move forward by the gap; local times that
 * happen twice (fall-back) take the first — Temporal's "compatible" choice, and what cron-like tools do.
 */
export interface ScheduleBoundary {
  at: Date;
  schedule: string;
  kind: 'opened' | 'closed';
}

const DAY_MS = 86_400_000;

/** Boundaries in [from, to), sorted by time then schedule name. Touching windows (mon 00:00–24:00, tue 00:00–…) merge. */
export function scheduleBoundaries(schedules: ReadonlyMap<string, Schedule>, from: Date, to: Date): ScheduleBoundary[] {
  const out: ScheduleBoundary[] = [];
  const [lo, hi] = [from.getTime(), to.getTime()];
  for (const [name, schedule] of schedules) {
    for (const [start, end] of windows(schedule, lo, hi)) {
      if (start >= lo && start < hi) out.push({ at: new Date(start), schedule: name, kind: 'opened' });
      if (end >= lo && end < hi) out.push({ at: new Date(end), schedule: name, kind: 'closed' });
    }
  }
  return out.sort((a, b) => a.at.getTime() - b.at.getTime() || (a.schedule < b.schedule ? -1 : a.schedule > b.schedule ? 1 : 0));
}

/** The schedules open at `at`: what a scheduler starting up (or a test) needs before the first boundary. */
export function openSchedulesAt(schedules: ReadonlyMap<string, Schedule>, at: Date): Set<string> {
  const t = at.getTime();
  const open = new Set<string>();
  for (const [name, schedule] of schedules) {
    if (windows(schedule, t, t + 1).some(([s, e]) => s <= t && t < e)) open.add(name);
  }
  return open;
}

/** Merged [start, end) windows in ms overlapping [lo, hi], computed from local dates around that span. */
function windows(schedule: Schedule, lo: number, hi: number): Array<[number, number]> {
  const first = localDate(lo - 2 * DAY_MS, schedule.timeZone);
  const raw: Array<[number, number]> = [];
  for (let i = 0; ; i++) {
    const day = new Date(Date.UTC(first.y, first.m - 1, first.d + i));
    if (day.getTime() > hi + 2 * DAY_MS) break;
    if (!schedule.days.includes(WEEKDAYS[day.getUTCDay()])) continue;
    const [y, m, d] = [day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate()];
    const start = zonedToUtc(y, m, d, schedule.start, schedule.timeZone);
    // end ≤ start: the window runs past midnight and closes on the next local day.
    const end = zonedToUtc(y, m, d + (schedule.end <= schedule.start ? 1 : 0), schedule.end, schedule.timeZone);
    raw.push([start, end]);
  }
  const merged: Array<[number, number]> = [];
  for (const w of raw.sort((a, b) => a[0] - b[0])) {
    const last = merged[merged.length - 1];
    if (last && w[0] <= last[1]) last[1] = Math.max(last[1], w[1]);
    else merged.push([...w]);
  }
  return merged;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function localParts(ms: number, timeZone: string): Record<string, number> {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return parts;
}

function localDate(ms: number, timeZone: string): { y: number; m: number; d: number } {
  const p = localParts(ms, timeZone);
  return { y: p.year, m: p.month, d: p.day };
}

/** Zone offset (local − UTC) in ms at instant `ms`. */
export function zoneOffset(ms: number, timeZone: string): number {
  const p = localParts(ms, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** Local wall time (date + minutes after midnight, overflow allowed) in `timeZone` → UTC ms. */
export function zonedToUtc(y: number, m: number, d: number, minutes: number, timeZone: string): number {
  const wall = Date.UTC(y, m - 1, d, 0, minutes);
  // Transitions are far more than a day apart, so the offsets a day either side are the only candidates.
  const before = zoneOffset(wall - DAY_MS, timeZone);
  const after = zoneOffset(wall + DAY_MS, timeZone);
  const valid = [...new Set([before, after])].map((o) => wall - o).filter((t) => zoneOffset(t, timeZone) === wall - t);
  if (valid.length) return Math.min(...valid);
  return wall - before; // in a gap: keep the pre-transition offset, which lands after the gap
}
