/**
 * Serialises async work per key. Commands whose invariant spans streams (a unique email, a unique public key or
 * address in a tenant) run under their key so that "read the index, decide, append" cannot interleave. Stream
 * versions still guard each stream; this guards what no single stream holds.
 */
export class KeyedMutex {
  private tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
