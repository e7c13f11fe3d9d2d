/**
 * Exponential backoff with full jitter: the n-th delay is uniform in [0, min(cap, base·2^n)], so agents that lost
 * the control plane together do not all come back in the same instant. A floor keeps tight loops away.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs = 500,
    private readonly capMs = 10_000,
    private readonly floorMs = 100,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.max(this.floorMs, Math.round(ceiling * this.random()));
  }

  reset(): void {
    this.attempt = 0;
  }
}
