import type { ConfigPatch } from '@meshgate/contracts';

/**
 * A patch's JSON assembled from shared fragments. One change sends the same peer entry (a node that joined or
 * moved) and the same rule or route list (one per policy class) to many nodes; the topology hands every receiver the
 * same objects, so each is serialised once and a receiver's patch costs a concatenation, not a JSON.stringify of
 * everything it carries. The objects are never mutated once in a patch, which makes caching by identity safe.
 */
const fragments = new WeakMap<object, string>();

function fragment(value: object): string {
  let json = fragments.get(value);
  if (json === undefined) fragments.set(value, (json = JSON.stringify(value)));
  return json;
}

export function patchJson(patch: ConfigPatch): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const json = name === 'peersUpserted'
      ? `[${(value as ConfigPatch['peersUpserted']).map(fragment).join(',')}]`
      : typeof value === 'object' && value !== null ? fragment(value) : JSON.stringify(value);
    parts.push(`${JSON.stringify(name)}:${json}`);
  }
  return `{${parts.join(',')}}`;
}
