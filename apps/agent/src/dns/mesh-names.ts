import { formatAddress, parsePrefix, type NodeConfig } from '../contracts';

/**
 * The names a node answers for, built from its config alone: its own name and those of the peers it may reach.
 * Keys are fully qualified, lower case and without the trailing dot ("db-1.acme.mesh").
 */
export interface MeshNames {
  /** The tenant domain, lower case, without the trailing dot. */
  readonly domain: string;
  /** This node's fully qualified name (the SOA's primary server). */
  readonly self: string;
  /** This node's overlay address, where it answers. */
  readonly selfAddress: string;
  /** The config version: the SOA serial, so a resolver's cached negative answer can be told from the next config's. */
  readonly serial: number;
  readonly addresses: ReadonlyMap<string, string>;
}

/** Where a question's name falls: a known name, the domain itself, an absent name in the domain, or elsewhere. */
export type NameLookup =
  | { kind: 'address'; address: string }
  | { kind: 'apex' }
  | { kind: 'absent' }
  | { kind: 'outside' };

/** Null when the config has no `dns` (an older control plane, or names off): the node answers nothing. */
export function meshNames(config: NodeConfig): MeshNames | null {
  if (!config.dns) return null;
  const domain = normalize(config.dns.domain);
  const self = `${normalize(config.dns.name)}.${domain}`;
  const selfAddress = hostAddress(config.interface.address, false);
  if (!selfAddress) return null;
  const addresses = new Map<string, string>([[self, selfAddress]]);
  const reachable = new Set(config.reachableGroups ?? []);
  for (const peer of config.peers) {
    if (!peer.name || peer.group === undefined || !reachable.has(peer.group)) continue;
    const address = peer.allowedIps.length > 0 ? hostAddress(peer.allowedIps[0], true) : null;
    const name = `${normalize(peer.name)}.${domain}`;
    // Names are unique in a tenant; should two entries collide anyway, the first (own name, then key order) stays.
    if (address && !addresses.has(name)) addresses.set(name, address);
  }
  return { domain, self, selfAddress, serial: config.version, addresses };
}

export function lookupName(names: MeshNames, name: string): NameLookup {
  const key = normalize(name);
  if (key === names.domain) return { kind: 'apex' };
  if (!key.endsWith(`.${names.domain}`)) return { kind: 'outside' };
  const address = names.addresses.get(key);
  return address ? { kind: 'address', address } : { kind: 'absent' };
}

/** DNS names compare without case, and "db-1.acme.mesh." is "db-1.acme.mesh". */
const normalize = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/** The IPv4 address of "100.64.0.7/10" (the interface) or "100.64.0.9/32" (a peer's first AllowedIPs entry). */
function hostAddress(text: string, hostOnly: boolean): string | null {
  const address = text.split('/')[0];
  const prefix = parsePrefix(address);
  if (prefix?.family !== 4 || (hostOnly && parsePrefix(text)?.bits !== 32)) return null;
  return formatAddress(4, prefix.network);
}
