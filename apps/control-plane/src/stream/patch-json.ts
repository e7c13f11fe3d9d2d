import type { ConfigPatch } from '@meshgate/contracts';

/**
 * A patch's JSON assembled from shared fragments, as bytes. One change sends the same peer entry (a node that joined
 * or moved) and the same rule or route list (one per policy class) to many nodes; the topology hands every receiver
 * the same objects, so each is serialised and encoded once and a receiver's patch costs one copy of its bytes — not
 * a JSON.stringify, nor a string the size of the patch to build and encode again (a change that gives 1,000 nodes
 * 1,000 new peers each is ~190 MB of patches). The objects are never mutated once in a patch, which makes caching by
 * identity safe.
 */
const fragments = new WeakMap<object, Buffer>();
const COMMA = Buffer.from(',');
const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');
const BRACE_OPEN = Buffer.from('{');
const BRACE_CLOSE = Buffer.from('}');

function fragment(value: object): Buffer {
  let bytes = fragments.get(value);
  if (bytes === undefined) fragments.set(value, (bytes = Buffer.from(JSON.stringify(value))));
  return bytes;
}

/** The pieces of the patch's JSON, in order: shared fragments and the small bytes around them (the caller concatenates). */
export function patchJsonPieces(patch: ConfigPatch): Buffer[] {
  const pieces: Buffer[] = [BRACE_OPEN];
  for (const [name, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    if (pieces.length > 1) pieces.push(COMMA);
    pieces.push(Buffer.from(`${JSON.stringify(name)}:`));
    if (name === 'peersUpserted') {
      pieces.push(OPEN);
      (value as ConfigPatch['peersUpserted']).forEach((peer, i) => {
        if (i > 0) pieces.push(COMMA);
        pieces.push(fragment(peer));
      });
      pieces.push(CLOSE);
    } else {
      pieces.push(typeof value === 'object' && value !== null ? fragment(value) : Buffer.from(JSON.stringify(value)));
    }
  }
  pieces.push(BRACE_CLOSE);
  return pieces;
}
