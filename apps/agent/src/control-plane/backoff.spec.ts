import { Backoff } from './backoff';

describe('Backoff', () => {
  it('doubles the ceiling up to the cap and resets', () => {
    const b = new Backoff(500, 4000, 100, () => 1);
    expect([b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([500, 1000, 2000, 4000, 4000]);
    b.reset();
    expect(b.next()).toBe(500);
  });

  it('spreads delays with jitter but never below the floor', () => {
    expect(new Backoff(500, 4000, 100, () => 0).next()).toBe(100);
    expect(new Backoff(500, 4000, 100, () => 0.5).next()).toBe(250);
  });
});
