import { parsePrefix, prefixContains } from './ip';
import { CompiledPolicyV2, Identity } from './evaluate';
import { Alias } from './policy-v2';

/**
 * Alias → the nodes it names, one identity at a time. Used where answers are per node and the set is small
 * (tests, previews of one alias); bulk evaluation goes through identity classes instead.
 */
export function aliasMatches(policy: CompiledPolicyV2, alias: Alias, node: Identity): boolean {
  const tagged = node.tags.length > 0;
  switch (alias.kind) {
    case 'all': return true;
    case 'autogroup': return alias.autogroup === 'member' ? !tagged : alias.autogroup === 'tagged' ? tagged : false;
    case 'host': return coversAddress(policy.policy.hosts.get(alias.host)!, node);
    case 'prefix': return coversAddress(alias.prefix, node);
    default: return policy.identityMatches(alias, node);
  }
}

function coversAddress(prefixText: string, node: Identity): boolean {
  const prefix = parsePrefix(prefixText);
  return !!prefix && node.addresses.some((a) => {
    const addr = parsePrefix(a);
    return !!addr && prefixContains(prefix, addr);
  });
}

/**
 * The nodes an alias names, or — when it names none of them — a stand-in identity with exactly what the alias
 * says (a tag, a user, a name, an address), so a test about `tag:prod` means something before any prod node joins.
 */
export function resolveForTest(policy: CompiledPolicyV2, alias: Alias, nodes: readonly Identity[]): Identity[] {
  const found = nodes.filter((n) => aliasMatches(policy, alias, n));
  if (found.length) return found;
  const stand = (over: Partial<Identity>): Identity => ({ id: `(${label(alias)})`, name: '', tags: [], addresses: [], ...over });
  switch (alias.kind) {
    case 'tag': return [stand({ tags: [alias.tag] })];
    case 'user': return [stand({ user: alias.user })];
    case 'group': return (policy.policy.groups.get(alias.group) ?? []).map((u) => stand({ user: u, id: `(${u})` }));
    case 'node': return [stand({ name: alias.node })];
    case 'host': return [stand({ addresses: [policy.policy.hosts.get(alias.host)!.replace(/\/\d+$/, '')] })];
    case 'prefix': return [stand({ addresses: [alias.prefix.replace(/\/\d+$/, '')] })];
    case 'autogroup': return alias.autogroup === 'tagged' ? [stand({ tags: ['tag:any'] })] : [stand({ user: '(member)' })];
    default: return [stand({})];
  }
}

export function label(alias: Alias): string {
  switch (alias.kind) {
    case 'all': return '*';
    case 'user': return `${alias.user}${alias.user.includes('@') ? '' : '@'}`;
    case 'group': return alias.group;
    case 'tag': return alias.tag;
    case 'host': return alias.host;
    case 'prefix': return alias.prefix;
    case 'autogroup': return `autogroup:${alias.autogroup}`;
    case 'node': return alias.node;
  }
}
