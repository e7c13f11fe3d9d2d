import type { ThrottlerStorage } from '@nestjs/throttler';

/** One key's counted requests: their expiry times, oldest first, from `head` on (a queue without shifting). */
interface Window {
  expiries: number[];
  head: number;
}

const SWEEP_EVERY_MS = 60_000;

/**
 * The rate limits' counts: an exact sliding window per key, as @nestjs/throttler's in-memory storage counts, at O(1)
 * per request. That storage filters every hit of the key on each request and spreads them into Math.min: its cost
 * grows with the limit, and a limit above ~100,000 throws. Here a window's expiries are in order (the ttl of a key
 * does not change), so expired ones leave from the front and the oldest is at `head`. No blocking beyond the window:
 * a refused request is not counted (every budget has blockDuration 0), so a client that waits as told gets through.
 * Idle keys are dropped by a sweep at most once a minute, run by a request, not a timer.
 */
export class SlidingWindowStorage implements ThrottlerStorage {
  private readonly windows = new Map<string, Window>();
  private nextSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string) {
    if (blockDuration > 0) throw new Error(`rate limit ${throttlerName}: blocking beyond the window is not supported`);
    const now = this.now();
    this.sweep(now);
    const id = `${throttlerName}\u0000${key}`;
    let window = this.windows.get(id);
    if (!window) this.windows.set(id, (window = { expiries: [], head: 0 }));
    dropExpired(window, now);
    const counted = window.expiries.length - window.head;
    const isBlocked = counted >= limit;
    if (!isBlocked) window.expiries.push(now + ttl);
    const secondsUntil = (at: number) => Math.max(0, Math.ceil((at - now) / 1000));
    return {
      totalHits: counted + 1,
      // Until the newest counted request leaves: when the key's budget is whole again.
      timeToExpire: secondsUntil(window.expiries[window.expiries.length - 1]),
      isBlocked,
      // Until the oldest leaves: the first moment a request is counted again (Retry-After).
      timeToBlockExpire: isBlocked ? secondsUntil(window.expiries[window.head]) : 0,
    };
  }

  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + SWEEP_EVERY_MS;
    for (const [id, window] of this.windows) {
      dropExpired(window, now);
      if (window.head === window.expiries.length) this.windows.delete(id);
    }
  }
}

function dropExpired(window: Window, now: number): void {
  const { expiries } = window;
  while (window.head < expiries.length && expiries[window.head] <= now) window.head++;
  // Compact once the expired prefix is most of the array: amortised O(1), memory bounded by the live requests.
  if (window.head > 32 && window.head * 2 > expiries.length) {
    window.expiries = expiries.slice(window.head);
    window.head = 0;
  }
}
