import { formatPrefix, parsePrefix } from '@meshgate/contracts/ip';
import { DomainError, HistoricalNode, policyEngine, ReachTarget, TenantHistory, Traffic } from '@meshgate/domain';

/**
 * A node named by a query (id or name) as the tenant's history knows it at the instant: another tenant's node, or one
 * not registered yet, is a 404 naming the field.
 */
export function nodeAt(history: TenantHistory, field: string, ref: string, at: Date): HistoricalNode {
  const node = history.find(ref);
  if (!node) throw new DomainError('NODE_NOT_FOUND', 'NOT_FOUND', `${field}: no node ${ref} in this tenant at ${at.toISOString()}`);
  return node;
}

/** `dst`: a node (id, name or overlay address), or an address behind a subnet router. */
export function targetAt(history: TenantHistory, ref: string, at: Date): ReachTarget {
  if (ref.includes('.') || ref.includes(':')) {
    const address = parsePrefix(ref);
    if (!address) throw new DomainError('DST_INVALID', 'INVALID', 'dst must be a node id, a node name, or an IP address');
    const node = history.findByAddress(formatPrefix(address).split('/')[0]);
    return node ? { node } : { prefix: formatPrefix(address) };
  }
  return { node: nodeAt(history, 'dst', ref, at) };
}

/** `proto` and `port` as the policy engine numbers them. */
export function trafficOf(proto: string | undefined, port: number | undefined): Traffic {
  if (proto === undefined) return { ...(port !== undefined ? { port } : {}) };
  const number = policyEngine.parseProto(proto);
  if (number === null) throw new DomainError('PROTO_INVALID', 'INVALID', 'proto must be a protocol name (tcp, udp, icmp, ...) or number (0-255)');
  if (port !== undefined && !policyEngine.hasPorts(number)) throw new DomainError('PORT_INVALID', 'INVALID', `port: ${proto} has no ports`);
  return { proto: number, ...(port !== undefined ? { port } : {}) };
}
