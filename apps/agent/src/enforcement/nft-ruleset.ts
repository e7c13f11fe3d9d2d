import { createHash } from 'node:crypto';
import { formatPrefix, parsePrefix, type FirewallRule, type NodeConfig, type Prefix, type QosRule } from '../contracts';
import { qosClassId } from './tc-plan';

/**
 * The nftables table MeshGate owns for one WireGuard interface, as data: named sets and chains whose rules are nft
 * syntax. Pure — the adapter diffs it against the live table and writes the difference.
 *
 * Layout (table `inet meshgate_<ifname>`):
 * - `input` / `forward`: base chains, policy accept, that only jump for packets from the interface into
 *   `inbound` / `forwarded`, so nothing else on the host is filtered.
 * - `inbound` / `forwarded`: replies to connections this side opened pass; anything else (the original direction of
 *   connections a peer opened, on every packet) must match a rule, else drop. Because established connections are
 *   re-checked per packet, removing a rule cuts the connections opened under it.
 * - `grp_*`: one ipv4_addr set per peer group a rule names, holding the group's overlay addresses; a peer joining a
 *   group is one element added, not a rule rewrite. WireGuard's cryptokey routing guarantees the source address of
 *   a packet from the interface belongs to the peer that sent it, so address sets identify peers soundly.
 * - `served_nat`: masquerade for traffic forwarded from the interface into served prefixes (LAN hosts need no route back).
 * - `qos_out` / `qos_forward` → `qos`: sets skb priority to the HTB class of the first QoS rule the destination
 *   matches; HTB reads the priority as a class id, so no tc filter is needed and group changes never touch tc.
 */
export interface NftSet { name: string; elements: string[] }
export interface NftChain {
  name: string;
  /** Base chain declaration (`type … hook … priority …; policy accept;`), absent for regular chains. */
  hook?: string;
  rules: string[];
}
export interface NftTable { name: string; sets: NftSet[]; chains: NftChain[] }
export interface RulesetBuild { table: NftTable | null; errors: string[] }

const PROTO_NUMBERS: Record<string, number> = { icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, sctp: 132 };
const PORT_PROTOS: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp' };

export const tableName = (ifname: string): string => `meshgate_${ifname.replace(/[^A-Za-z0-9_]/g, '_')}`;

/** Group names are free text ("tag:web"); set names must be identifiers, and must not collide after cleaning. */
export const groupSetName = (group: string): string =>
  `grp_${group.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 40)}_${createHash('sha256').update(group).digest('hex').slice(0, 6)}`;

/** The prefixes of one family, sorted by start, widest first: keep those not covered by one kept before (a sweep). */
function uncovered(prefixes: Prefix[]): string[] {
  const max = (p: Prefix) => BigInt(p.family === 4 ? 32 : 128);
  const end = (p: Prefix) => p.network + (1n << (max(p) - BigInt(p.bits))) - 1n;
  const sorted = [...prefixes].sort((a, b) => (a.network < b.network ? -1 : a.network > b.network ? 1 : a.bits - b.bits));
  const kept: string[] = [];
  let maxEnd = -1n;
  for (const p of sorted) {
    if (end(p) <= maxEnd) continue;
    kept.push(formatPrefix(p));
    maxEnd = end(p);
  }
  return kept.sort();
}

/**
 * Canonical (the contracts' IP helper), sorted, without prefixes covered by another in the list: nft rejects
 * overlapping intervals in one set. Strings that are not IP prefixes are dropped and reported.
 */
export function normalizePrefixes(prefixes: readonly string[], errors: string[] = []): { v4: string[]; v6: string[] } {
  const byFamily = { 4: new Map<string, Prefix>(), 6: new Map<string, Prefix>() };
  for (const raw of prefixes) {
    const p = parsePrefix(raw.trim());
    if (p) byFamily[p.family].set(formatPrefix(p), p);
    else errors.push(`not an IP prefix: ${JSON.stringify(raw)}`);
  }
  return { v4: uncovered([...byFamily[4].values()]), v6: uncovered([...byFamily[6].values()]) };
}

/** `ports` text ("22", "80,443", "8000-8100") as an nft set body, or null when malformed. */
function portsExpression(ports: string): string | null {
  const parts = ports.split(',').map((p) => p.trim());
  for (const part of parts) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    if (!m || Number(m[1]) > 65535 || (m[2] !== undefined && (Number(m[2]) > 65535 || Number(m[2]) < Number(m[1])))) return null;
  }
  return parts.length === 1 ? parts[0] : `{ ${parts.join(', ')} }`;
}

/** The protocol/ports match of a rule: `tcp dport { 80, 443 }`, `meta l4proto 1`, … or null when invalid. */
export function protoExpression(proto: string, ports: string | undefined): string | null {
  const key = proto.trim().toLowerCase();
  const number = /^\d{1,3}$/.test(key) ? Number(key) : PROTO_NUMBERS[key];
  if (number === undefined || number > 255) return null;
  const portProto = PORT_PROTOS[number];
  if (portProto && ports !== undefined && ports !== '*') {
    const set = portsExpression(ports);
    return set === null ? null : `${portProto} dport ${set}`;
  }
  return `meta l4proto ${number}`;
}

const anonymousSet = (items: string[]) => (items.length === 1 ? items[0] : `{ ${items.join(', ')} }`);

/** Address matches for one side of a rule: group sets (IPv4 overlay) and literal prefixes, one match per family. */
function addressMatches(dir: 'saddr' | 'daddr', groups: readonly string[], prefixes: readonly string[], errors: string[]): string[] {
  const out = [...new Set(groups)].sort().map((g) => `ip ${dir} @${groupSetName(g)}`);
  const { v4, v6 } = normalizePrefixes(prefixes, errors);
  if (v4.length) out.push(`ip ${dir} ${anonymousSet(v4)}`);
  if (v6.length) out.push(`ip6 ${dir} ${anonymousSet(v6)}`);
  return out;
}

function firewallRules(rules: readonly FirewallRule[], forwarded: boolean, errors: string[]): string[] {
  const out: string[] = [];
  for (const rule of rules) {
    if ((rule.dst !== undefined) !== forwarded) continue;
    if (rule.action !== 'accept') {
      errors.push(`firewall rule with action ${JSON.stringify(rule.action)} skipped: only accept is defined`);
      continue;
    }
    const proto = protoExpression(String(rule.proto), rule.ports);
    if (proto === null) {
      errors.push(`firewall rule skipped: bad proto/ports ${JSON.stringify({ proto: rule.proto, ports: rule.ports })}`);
      continue;
    }
    const sources = addressMatches('saddr', rule.srcGroups ?? [], rule.src ?? [], errors);
    const destinations = forwarded ? addressMatches('daddr', [], rule.dst ?? [], errors) : [''];
    for (const src of sources) {
      for (const dst of destinations) {
        // An IPv4 source never meets an IPv6 destination: skip the combinations nft would reject.
        if (dst && src.startsWith('ip ') !== dst.startsWith('ip ')) continue;
        out.push([src, dst, proto, 'accept'].filter(Boolean).join(' '));
      }
    }
  }
  return [...new Set(out)];
}

function qosRules(qos: readonly QosRule[], errors: string[]): string[] {
  const out: string[] = [];
  qos.forEach((rule, index) => {
    // First match wins, as the rules are ordered: set the class and stop looking.
    for (const dst of addressMatches('daddr', rule.dstGroups ?? [], rule.dst ?? [], errors)) {
      out.push(`${dst} meta priority set "${qosClassId(index)}" return`);
    }
  });
  return out;
}

/** The overlay address of each peer per group: allowedIps[0] is the peer's own address. */
function groupMembers(config: Pick<NodeConfig, 'peers'>): Map<string, string[]> {
  const members = new Map<string, string[]>();
  for (const peer of config.peers) {
    if (peer.group === undefined || peer.allowedIps.length === 0) continue;
    const list = members.get(peer.group) ?? [];
    list.push(peer.allowedIps[0]);
    members.set(peer.group, list);
  }
  return members;
}

const REPLIES_PASS = 'ct state established,related ct direction reply accept';
const quote = (ifname: string) => `"${ifname}"`;

/**
 * The table for a config, or null when there is nothing to enforce. `firewall` absent (a control plane that predates
 * it) installs no filter; an empty list filters everything peers initiate (zero trust).
 */
export function buildRuleset(config: NodeConfig, ifname: string): RulesetBuild {
  const errors: string[] = [];
  const iif = `iifname ${quote(ifname)}`;
  const chains: NftChain[] = [];
  const usedGroups = new Set<string>();
  const firewall = config.firewall as FirewallRule[] | undefined;
  const served = config.servedRoutes ?? [];
  const qos = config.qos ?? [];

  if (firewall !== undefined) {
    for (const rule of firewall) for (const g of rule.srcGroups ?? []) usedGroups.add(g);
    chains.push(
      { name: 'input', hook: 'type filter hook input priority filter; policy accept;', rules: [`${iif} jump inbound`] },
      { name: 'inbound', rules: [REPLIES_PASS, ...firewallRules(firewall, false, errors), 'drop'] },
      { name: 'forward', hook: 'type filter hook forward priority filter; policy accept;', rules: [`${iif} jump forwarded`] },
      { name: 'forwarded', rules: [REPLIES_PASS, ...firewallRules(firewall, true, errors), 'drop'] },
    );
  }
  if (served.length > 0) {
    const { v4, v6 } = normalizePrefixes(served, errors);
    const out = `${iif} oifname != ${quote(ifname)}`;
    const rules = [
      ...(v4.length ? [`${out} ip daddr ${anonymousSet(v4)} masquerade`] : []),
      ...(v6.length ? [`${out} ip6 daddr ${anonymousSet(v6)} masquerade`] : []),
    ];
    if (rules.length) chains.push({ name: 'served_nat', hook: 'type nat hook postrouting priority srcnat; policy accept;', rules });
  }
  if (qos.length > 0) {
    for (const rule of qos) for (const g of rule.dstGroups ?? []) usedGroups.add(g);
    const oif = `oifname ${quote(ifname)}`;
    chains.push(
      { name: 'qos_out', hook: 'type filter hook output priority mangle; policy accept;', rules: [`${oif} jump qos`] },
      { name: 'qos_forward', hook: 'type filter hook forward priority mangle; policy accept;', rules: [`${oif} jump qos`] },
      { name: 'qos', rules: qosRules(qos, errors) },
    );
  }
  if (chains.length === 0) return { table: null, errors };

  const members = groupMembers(config);
  const sets = [...usedGroups].sort().map((g) => ({
    name: groupSetName(g),
    elements: normalizePrefixes((members.get(g) ?? []).filter((a) => parsePrefix(a.trim())?.family === 4), errors).v4,
  }));
  return { table: { name: tableName(ifname), sets, chains }, errors };
}

/**
 * Marks a chain's last rule with a digest of the whole chain, so the live table can be checked against the
 * desired one by reading one comment and a rule count instead of parsing nft's JSON back into rules.
 */
export function chainDigest(chain: Pick<NftChain, 'hook' | 'rules'>): string {
  return `mg:${createHash('sha256').update(`${chain.hook ?? ''}\n${chain.rules.join('\n')}`).digest('hex').slice(0, 16)}`;
}

/** The chain's rules as written, the last one carrying the digest comment. */
export function renderedRules(chain: NftChain): string[] {
  if (chain.rules.length === 0) return [];
  const digest = chainDigest(chain);
  return chain.rules.map((r, i) => (i === chain.rules.length - 1 ? `${r} comment "${digest}"` : r));
}
