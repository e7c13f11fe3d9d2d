import { parsePrefix, prefixContains } from '@meshgate/contracts/ip';
import { CompiledPolicy, Identity } from './evaluate';
import { Alias } from './policy-file';
import { userAliasMatches } from './tag-owners';
import type { Role } from '../tenant/tenant';

/** The tenant's members (email → role): what a test's stand-in for a user without nodes is given. */
export type TenantUsers = ReadonlyMap<string, Role>;
export const NO_USERS: TenantUsers = new Map();

/**
 * Alias → the nodes it names, one identity at a time. Used where answers are per node and the set is small
 * (tests, previews of one alias); bulk evaluation goes through identity classes instead.
 */
export function aliasMatches(policy: CompiledPolicy, alias: Alias, node: Identity): boolean {
  const tagged = node.tags.length > 0;
  switch (alias.kind) {
    case 'all': return true;
    case 'autogroup':
      switch (alias.autogroup) {
        case 'member': return !tagged && node.user !== undefined;
        case 'tagged': return tagged;
        case 'admin': case 'owner': return !tagged && node.user !== undefined && node.role === alias.autogroup;
        default: return false;
      }
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
export function resolveForTest(policy: CompiledPolicy, alias: Alias, nodes: readonly Identity[], users: TenantUsers = NO_USERS): Identity[] {
  const found = nodes.filter((n) => aliasMatches(policy, alias, n));
  if (found.length) return found;
  const stand = (over: Partial<Identity>): Identity => ({ id: `(${label(alias)})`, name: '', tags: [], addresses: [], ...over });
  // A user stand-in has the user's tenant role when the tenant has that user (else it is a member with no role).
  const asUser = (u: string, over: Partial<Identity> = {}): Identity => {
    const known = [...users].find(([email]) => userAliasMatches(u, email));
    return stand({ user: known?.[0] ?? (u.includes('@') ? u : `${u}@`), ...(known ? { role: known[1] } : {}), ...over });
  };
  switch (alias.kind) {
    case 'tag': return [stand({ tags: [alias.tag] })];
    case 'user': return [asUser(alias.user)];
    case 'group': return (policy.policy.groups.get(alias.group) ?? []).map((u) => (u.startsWith('idp:')
      // A stand-in member of the IdP group: a tenant member whose sign-on carried it.
      ? stand({ id: `(${u})`, user: `(${u})@`, role: 'member', groups: [u.slice('idp:'.length)] })
      : asUser(u, { id: `(${u})` })));
    case 'node': return [stand({ name: alias.node })];
    case 'host': return [stand({ addresses: [policy.policy.hosts.get(alias.host)!.replace(/\/\d+$/, '')] })];
    case 'prefix': return [stand({ addresses: [alias.prefix.replace(/\/\d+$/, '')] })];
    case 'autogroup':
      if (alias.autogroup === 'tagged') return [stand({ tags: ['tag:any'] })];
      if (alias.autogroup === 'admin' || alias.autogroup === 'owner') return [stand({ user: `(${alias.autogroup})@`, role: alias.autogroup })];
      return [stand({ user: '(member)@', role: 'member' })];
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
