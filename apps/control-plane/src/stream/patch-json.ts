import type { ConfigPatch, PeerConfig } from '@meshgate/contracts';
import { ListMakeup, makeupOf, PART_NAMES, SharedList } from '@meshgate/domain';

/**
 * A patch's JSON assembled from shared fragments. One change sends the same peer entry (a node that joined or moved)
 * and the same rule or route list (one per policy class) to many nodes; the topology hands every receiver the same
 * objects, so each is serialised once (cached by identity) and a receiver's patch costs copies, not a JSON.stringify.
 * The objects are never mutated once in a patch, which makes caching by identity safe.
 *
 * A small fragment is copied into the receiver's text, which is encoded once: a firewall change to 10,000 nodes is
 * 10,000 patches of ~300 bytes, and a buffer per piece of each cost four times the encoding. A large one (a long
 * rule list, a list of many peers) goes as bytes encoded once: a change that gives 1,000 nodes 1,000 new peers each
 * is ~190 MB of patches, which are copied rather than encoded again. A whole group given to (or taken from) many
 * receivers comes as one shared list (shared-lists.ts in the domain): it is joined once, and each receiver's patch
 * takes it as one or two views of those bytes.
 */
const texts = new WeakMap<object, string>();
const encoded = new WeakMap<object, Buffer>();
const encodedAfterComma = new WeakMap<object, Buffer>();
const COMMA = Buffer.from(',');

/** Shared JSON this long or longer goes as bytes; peer lists this long or longer go entry by entry as bytes. */
const LARGE_FRAGMENT = 1024;
const MANY_PEERS = 16;

/** The fields whose values come from the receiver's class, shared with its class mates; the others are its own. */
const SHARED_FIELDS: ReadonlySet<string> = new Set<string>(PART_NAMES);

/** `"name":` of each field, built once. */
const keys = new Map<string, string>();
function keyOf(name: string): string {
  let key = keys.get(name);
  if (key === undefined) keys.set(name, (key = `${JSON.stringify(name)}:`));
  return key;
}

function textOf(value: object): string {
  let text = texts.get(value);
  if (text === undefined) texts.set(value, (text = JSON.stringify(value)));
  return text;
}

function bytesOf(value: object): Buffer {
  let bytes = encoded.get(value);
  if (bytes === undefined) encoded.set(value, (bytes = Buffer.from(textOf(value))));
  return bytes;
}

/** `,` and the entry's JSON, as one piece: a list's entries after its first (half the pieces of a comma apart). */
function followingBytesOf(value: object): Buffer {
  let bytes = encodedAfterComma.get(value);
  if (bytes === undefined) encodedAfterComma.set(value, (bytes = Buffer.from(`,${textOf(value)}`)));
  return bytes;
}

/** A shared list's entries as one buffer, comma-separated, and where each entry starts (and, last, where it ends). */
interface JoinedList {
  bytes: Buffer;
  starts: number[];
}
const joined = new WeakMap<readonly unknown[], JoinedList>();

/** A peer entry's JSON (cached by identity), or a key's. */
const jsonOf = (entry: unknown): string => (typeof entry === 'object' && entry !== null ? textOf(entry) : JSON.stringify(entry));

function joinedOf(entries: readonly unknown[]): JoinedList {
  let list = joined.get(entries);
  if (list === undefined) {
    const texts = entries.map(jsonOf);
    const starts: number[] = [];
    let at = 0;
    for (const text of texts) {
      starts.push(at);
      at += Buffer.byteLength(text) + 1;
    }
    starts.push(at - 1);
    joined.set(entries, (list = { bytes: Buffer.from(texts.join(',')), starts }));
  }
  return list;
}

/** A shared list less the receiver's own entry: at most two views of the list's bytes (no entry copied or encoded). */
function pushShared(pieces: Array<string | Buffer>, { entries, except }: SharedList<unknown>): void {
  const { bytes, starts } = joinedOf(entries);
  const last = entries.length - 1;
  if (except < 0) pieces.push(bytes);
  else if (except === 0) pieces.push(bytes.subarray(starts[1]));
  else if (except === last) pieces.push(bytes.subarray(0, starts[last] - 1));
  else pieces.push(bytes.subarray(0, starts[except]), bytes.subarray(starts[except + 1]));
}

/** The shared lists after the receiver's own `own` entries (already in the pieces), comma-separated. */
function pushLists(pieces: Array<string | Buffer>, { own, lists }: ListMakeup<unknown>): void {
  lists.forEach((list, i) => {
    if (own > 0 || i > 0) pieces.push(COMMA);
    pushShared(pieces, list);
  });
}

/** The patch's JSON in order, as text (to be encoded) and shared bytes (to be copied): the caller concatenates. */
export function patchJsonPieces(patch: ConfigPatch): Array<string | Buffer> {
  const pieces: Array<string | Buffer> = [];
  let own = '{';
  let first = true;
  for (const name in patch) {
    const value = patch[name as keyof ConfigPatch];
    if (value === undefined) continue;
    own += first ? keyOf(name) : `,${keyOf(name)}`;
    first = false;
    if (name === 'peersUpserted') {
      const peers = value as PeerConfig[];
      own += '[';
      const makeup = makeupOf(peers);
      if (!makeup && peers.length < MANY_PEERS) {
        own += peers.map(textOf).join(',');
      } else {
        // Many peers, as bytes: the receiver's own entries one by one, then each shared list whole (see PeerUpserts).
        pieces.push(own);
        const count = makeup ? makeup.own : peers.length;
        for (let i = 0; i < count; i++) pieces.push(i === 0 ? bytesOf(peers[i]) : followingBytesOf(peers[i]));
        if (makeup) pushLists(pieces, makeup);
        own = '';
      }
      own += ']';
    } else if (name === 'peersRemoved' && makeupOf(value as string[])) {
      // Removed keys of a group taken from many receivers: the receiver's own keys as text, then the shared lists.
      const keys = value as string[];
      const makeup = makeupOf(keys)!;
      pieces.push(`${own}[${keys.slice(0, makeup.own).map((key) => JSON.stringify(key)).join(',')}`);
      pushLists(pieces, makeup);
      own = ']';
    } else if (SHARED_FIELDS.has(name) && typeof value === 'object' && value !== null) {
      const text = textOf(value);
      if (text.length < LARGE_FRAGMENT) {
        own += text;
      } else {
        pieces.push(own, bytesOf(value));
        own = '';
      }
    } else {
      own += Array.isArray(value) && value.length === 0 ? '[]' : JSON.stringify(value);
    }
  }
  pieces.push(`${own}}`);
  return pieces;
}
