import { ThrottlerStorageService } from '@nestjs/throttler';
import { SlidingWindowStorage } from './sliding-window.storage';

describe('SlidingWindowStorage', () => {
  let now = 1_000_000;
  const storage = () => new SlidingWindowStorage(() => now);
  const hit = (s: SlidingWindowStorage, key = 'node:a', ttl = 30_000, limit = 3) => s.increment(key, ttl, limit, 0, 'heartbeats');

  it('counts up to the limit in the window, refuses beyond it without counting, and counts again once the oldest has left', async () => {
    const s = storage();
    const counted = [];
    for (let i = 0; i < 3; i++) {
      counted.push(await hit(s));
      now += 5_000;
    }
    expect(counted.map((r) => [r.isBlocked, r.totalHits])).toEqual([[false, 1], [false, 2], [false, 3]]);
    // The oldest was counted 15 s ago with a 30 s window: Retry-After 15 s.
    expect(await hit(s)).toMatchObject({ isBlocked: true, totalHits: 4, timeToBlockExpire: 15 });
    now += 14_999;
    expect((await hit(s)).isBlocked).toBe(true);
    now += 1;
    expect(await hit(s)).toMatchObject({ isBlocked: false, totalHits: 3, timeToBlockExpire: 0 });
    expect((await hit(s)).isBlocked).toBe(true);
  });

  it('keeps each key and each budget apart', async () => {
    const s = storage();
    for (let i = 0; i < 3; i++) await hit(s, 'node:a');
    expect((await hit(s, 'node:a')).isBlocked).toBe(true);
    expect((await hit(s, 'node:b')).isBlocked).toBe(false);
    expect((await s.increment('node:a', 30_000, 3, 0, 'writes')).isBlocked).toBe(false);
  });

  it('stays exact over a long run with a large limit (the expired prefix is compacted away)', async () => {
    const s = storage();
    // 10 requests a second for 100 s against 250 per 30 s: refused exactly while 250 are in the window.
    let refused = 0;
    let counted = 0;
    const window: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      now += 100;
      while (window.length && window[0] <= now) window.shift();
      const result = await hit(s, 'user:u', 30_000, 250);
      expect(result.isBlocked).toBe(window.length >= 250);
      if (result.isBlocked) refused++;
      else {
        counted++;
        window.push(now + 30_000);
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(counted).toBeGreaterThan(250);
  });

  it('answers as @nestjs/throttler\'s own storage does, for the fields the guard uses', async () => {
    jest.useFakeTimers({ now: 5_000_000 });
    try {
      const nest = new ThrottlerStorageService();
      const ours = new SlidingWindowStorage();
      // An irregular pattern: bursts, pauses longer and shorter than the window.
      const gaps = [0, 10, 10, 3_000, 0, 0, 12_000, 1, 1, 1, 20_000, 500, 500, 9_000, 0, 31_000, 0, 0, 0, 0, 15_000, 15_000];
      for (const gap of gaps) {
        jest.advanceTimersByTime(gap);
        const [a, b] = await Promise.all([nest.increment('k', 30_000, 4, 0, 'writes'), ours.increment('k', 30_000, 4, 0, 'writes')]);
        expect({ isBlocked: b.isBlocked, totalHits: b.totalHits, timeToBlockExpire: b.timeToBlockExpire })
          .toEqual({ isBlocked: a.isBlocked, totalHits: a.totalHits, timeToBlockExpire: a.timeToBlockExpire });
      }
      nest.onApplicationShutdown();
    } finally {
      jest.useRealTimers();
    }
  });

  it('refuses a budget that would block beyond its window', async () => {
    await expect(storage().increment('k', 1_000, 1, 60_000, 'auth')).rejects.toThrow(/blocking beyond the window/);
  });
});
