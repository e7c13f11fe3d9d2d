/**
 * A token bucket: `rate` tokens a second, holding at most `burst`, full at the start. The clock is in milliseconds
 * and passed in, so the relay reads it once per datagram for both of a pair's buckets.
 */
export class TokenBucket {
  private tokens: number;

  constructor(private rate: number, private burst: number, private at: number) {
    this.tokens = burst;
  }

  /** New limits keep what is left (up to the new burst): a config push must not hand every pair a fresh burst. */
  retune(rate: number, burst: number): void {
    this.rate = rate;
    this.burst = burst;
    this.tokens = Math.min(this.tokens, burst);
  }

  /** Whether `amount` tokens are there at `now`, after refilling. */
  has(amount: number, now: number): boolean {
    if (now > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000);
      this.at = now;
    }
    return this.tokens >= amount;
  }

  take(amount: number): void {
    this.tokens -= amount;
  }
}
