/**
 * The hashes of the last `size` positions set (by position modulo size): what a checkpoint signs is never far behind
 * it, so neither the exporter nor the verifier keeps the hash of every position of a long log.
 */
export class PositionRing {
  private readonly positions: Float64Array;
  private readonly hashes: (string | undefined)[];

  constructor(readonly size: number) {
    this.positions = new Float64Array(size).fill(-1);
    this.hashes = new Array(size);
  }

  set(position: number, hash: string): void {
    const slot = position % this.size;
    this.positions[slot] = position;
    this.hashes[slot] = hash;
  }

  get(position: number): string | undefined {
    const slot = position % this.size;
    return this.positions[slot] === position ? this.hashes[slot] : undefined;
  }
}
