import { TokenBucket } from './token-bucket';

describe('TokenBucket', () => {
  it('starts full, refills at its rate and never beyond its burst', () => {
    const bucket = new TokenBucket(10, 5, 0);
    expect(bucket.has(5, 0)).toBe(true);
    bucket.take(5);
    expect(bucket.has(1, 0)).toBe(false);
    expect(bucket.has(1, 100)).toBe(true); // 10/s: one token in 100 ms
    expect(bucket.has(2, 100)).toBe(false);
    expect(bucket.has(5, 60_000)).toBe(true);
    expect(bucket.has(6, 60_000)).toBe(false);
  });

  it('keeps what is left when retuned, up to the new burst', () => {
    const bucket = new TokenBucket(10, 100, 0);
    bucket.take(90);
    bucket.retune(1000, 200);
    expect(bucket.has(10, 0)).toBe(true);
    expect(bucket.has(11, 0)).toBe(false);
    bucket.retune(1000, 4);
    expect(bucket.has(4, 0)).toBe(true);
    expect(bucket.has(5, 0)).toBe(false);
  });
});
