import type { Peer } from './topology';

/** A list of entries shared by many receivers, less the receiver's own (its index, or -1). */
export interface SharedList<T> {
  entries: readonly T[];
  except: number;
}

/** How a listed array was made: its first `own` entries, then the shared lists (for serialising each list once). */
export interface ListMakeup<T> {
  own: number;
  lists: readonly SharedList<T>[];
}

const makeups = new WeakMap<readonly unknown[], ListMakeup<unknown>>();

/** The makeup of an array a change's `list()` answered, if it holds shared lists. */
export const makeupOf = <T>(list: readonly T[]): ListMakeup<T> | undefined => makeups.get(list) as ListMakeup<T> | undefined;

/**
 * Entries by key in the order they were given, where many may come in as one shared list. A policy edit that makes
 * whole groups peers, or no longer peers (a full mesh opened or closed), gives each of N receivers the same N
 * entries; as N² Map or Set insertions that was most of such a change's CPU and nearly all its garbage. A group goes
 * in as its shared list instead, and a patch takes the lists as they are (`list()`). Any read or write by key first
 * turns the lists into keyed entries, so everything else sees exactly what setting each entry would have made.
 */
abstract class SharedLists<T> {
  protected readonly keyed: Map<string, T>;
  private lists: SharedList<T>[] = [];
  private listed = 0;

  protected constructor(private readonly keyOf: (entry: T) => string, entries: Iterable<T> = []) {
    this.keyed = new Map();
    for (const entry of entries) this.keyed.set(keyOf(entry), entry);
  }

  /** Adds `entries` but the one at `except` (-1: none). The caller knows none of their keys is here already. */
  addShared(entries: readonly T[], except: number): void {
    const count = entries.length - (except >= 0 ? 1 : 0);
    if (count <= 0) return;
    this.lists.push({ entries, except });
    this.listed += count;
  }

  get size(): number {
    return this.keyed.size + this.listed;
  }

  /** The entries in order, the shared lists left as they are; its makeup (`makeupOf`) names them. */
  list(): T[] {
    const out = [...this.keyed.values()];
    for (const { entries, except } of this.lists) {
      for (let i = 0; i < entries.length; i++) if (i !== except) out.push(entries[i]);
    }
    if (this.lists.length > 0) makeups.set(out, { own: this.keyed.size, lists: [...this.lists] });
    return out;
  }

  has(key: string): boolean {
    return this.byKey().has(key);
  }

  delete(key: string): boolean {
    return this.byKey().delete(key);
  }

  /** Every entry by key, shared ones after those given before them: the order `list()` gives. */
  protected byKey(): Map<string, T> {
    if (this.lists.length > 0) {
      for (const { entries, except } of this.lists) {
        for (let i = 0; i < entries.length; i++) if (i !== except) this.keyed.set(this.keyOf(entries[i]), entries[i]);
      }
      this.lists = [];
      this.listed = 0;
    }
    return this.keyed;
  }
}

/** The peers a change adds or updates at one node, by public key: a Map. */
export class PeerUpserts extends SharedLists<Peer> implements Iterable<[string, Peer]> {
  constructor(peers: Iterable<Peer> = []) {
    super((peer) => peer.publicKey, peers);
  }

  set(key: string, peer: Peer): this {
    this.byKey().set(key, peer);
    return this;
  }

  get(key: string): Peer | undefined {
    return this.byKey().get(key);
  }

  keys(): IterableIterator<string> {
    return this.byKey().keys();
  }

  values(): IterableIterator<Peer> {
    return this.byKey().values();
  }

  [Symbol.iterator](): IterableIterator<[string, Peer]> {
    return this.byKey()[Symbol.iterator]();
  }
}

/** The public keys of the peers a change removes at one node: a Set. */
export class PeerRemovals extends SharedLists<string> implements Iterable<string> {
  constructor(keys: Iterable<string> = []) {
    super((key) => key, keys);
  }

  add(key: string): this {
    this.byKey().set(key, key);
    return this;
  }

  [Symbol.iterator](): IterableIterator<string> {
    return this.byKey().keys();
  }
}
