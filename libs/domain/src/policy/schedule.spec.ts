import { Schedule } from './policy-file';
import { openSchedulesAt, scheduleBoundaries, zonedToUtc } from './schedule';

const berlin = (days: Schedule['days'], start: number, end: number): Schedule => ({ timeZone: 'Europe/Berlin', days, start, end });
const iso = (b: { at: Date; schedule: string; kind: string }) => `${b.at.toISOString()} ${b.schedule} ${b.kind}`;
const H = 60;
/** Schedules by name, as a parsed policy holds them. */
const named = (schedules: Record<string, Schedule>): ReadonlyMap<string, Schedule> => new Map(Object.entries(schedules));

describe('scheduleBoundaries', () => {
  it('given office hours in Europe/Berlin, when the clocks go forward (29 March 2026), then the UTC instants shift by an hour', () => {
    const schedules = named({ office: berlin(['sat', 'sun', 'mon'], 8 * H, 17 * H) });
    const boundaries = scheduleBoundaries(schedules, new Date('2026-03-28T00:00:00Z'), new Date('2026-03-31T00:00:00Z'));
    expect(boundaries.map(iso)).toEqual([
      '2026-03-28T07:00:00.000Z office opened', // CET, UTC+1
      '2026-03-28T16:00:00.000Z office closed',
      '2026-03-29T06:00:00.000Z office opened', // CEST, UTC+2
      '2026-03-29T15:00:00.000Z office closed',
      '2026-03-30T06:00:00.000Z office opened',
      '2026-03-30T15:00:00.000Z office closed',
    ]);
  });

  it('given an overnight window spanning the change, then it is an hour shorter in real time', () => {
    const schedules = named({ night: berlin(['sat'], 22 * H, 6 * H) });
    const boundaries = scheduleBoundaries(schedules, new Date('2026-03-28T00:00:00Z'), new Date('2026-03-30T00:00:00Z'));
    expect(boundaries.map(iso)).toEqual(['2026-03-28T21:00:00.000Z night opened', '2026-03-29T04:00:00.000Z night closed']);
  });

  it('given a window on the fall-back day (25 October 2026), then it is an hour longer', () => {
    const schedules = named({ late: berlin(['sat'], 20 * H, 8 * H) });
    const boundaries = scheduleBoundaries(schedules, new Date('2026-10-24T00:00:00Z'), new Date('2026-10-26T00:00:00Z'));
    expect(boundaries.map(iso)).toEqual(['2026-10-24T18:00:00.000Z late opened', '2026-10-25T07:00:00.000Z late closed']);
  });

  it('resolves a skipped local time forward and a repeated one to its first occurrence', () => {
    expect(new Date(zonedToUtc(2026, 3, 29, 2 * H + 30, 'Europe/Berlin')).toISOString()).toBe('2026-03-29T01:30:00.000Z'); // 03:30 CEST
    expect(new Date(zonedToUtc(2026, 10, 25, 2 * H + 30, 'Europe/Berlin')).toISOString()).toBe('2026-10-25T00:30:00.000Z'); // first 02:30
  });

  it('merges touching windows, so a whole-week window never closes', () => {
    const always = named({ always: berlin(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], 0, 24 * H) });
    expect(scheduleBoundaries(always, new Date('2026-03-01T00:00:00Z'), new Date('2026-04-01T00:00:00Z'))).toEqual([]);
    expect(openSchedulesAt(always, new Date('2026-03-29T01:30:00Z'))).toEqual(new Set(['always']));
  });

  it('orders boundaries of several schedules by time and leaves out those outside [from, to)', () => {
    const schedules = named({ b: { timeZone: 'UTC', days: ['mon'], start: 9 * H, end: 10 * H }, a: { timeZone: 'UTC', days: ['mon'], start: 9 * H, end: 11 * H } });
    const boundaries = scheduleBoundaries(schedules, new Date('2026-03-02T09:00:00Z'), new Date('2026-03-02T11:00:00Z'));
    expect(boundaries.map(iso)).toEqual(['2026-03-02T09:00:00.000Z a opened', '2026-03-02T09:00:00.000Z b opened', '2026-03-02T10:00:00.000Z b closed']);
  });
});

describe('openSchedulesAt', () => {
  it('answers which windows are open at an instant, in local time', () => {
    const schedules = named({ office: berlin(['mon'], 8 * H, 17 * H) });
    expect(openSchedulesAt(schedules, new Date('2026-03-30T06:00:00Z'))).toEqual(new Set(['office']));
    expect(openSchedulesAt(schedules, new Date('2026-03-30T05:59:59Z'))).toEqual(new Set());
    expect(openSchedulesAt(schedules, new Date('2026-03-30T15:00:00Z'))).toEqual(new Set());
  });
});
