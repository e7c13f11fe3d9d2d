/**
 * Port ranges and IP protocols as a policy names them. Reachability is a set of (protocol, port range) pairs; it
 * is kept normalised (sorted, merged) so two answers can be compared with toEqual and diffed cheaply.
 */
export interface PortRange {
  first: number;
  last: number;
}
/** Per IANA protocol number, the port ranges open. Protocols without ports carry ALL_PORTS. */
export type Reach = ReadonlyArray<{ proto: number; ports: readonly PortRange[] }>;

export const ALL_PORTS: readonly PortRange[] = [{ first: 0, last: 65535 }];
export const TCP = 6;
export const UDP = 17;
export const ICMP = 1;
export const ICMPV6 = 58;
export const SCTP = 132;
/** No `proto` means TCP, UDP and ICMP, as in Tailscale. */
export const DEFAULT_PROTOS: readonly number[] = [ICMP, TCP, UDP, ICMPV6];

/** A Map, so a `proto` of "constructor" is an unknown name, not a property every object has. */
const PROTO_NAMES = new Map<string, number>([
  ['icmp', ICMP], ['igmp', 2], ['ipv4', 4], ['ip-in-ip', 4], ['tcp', TCP], ['egp', 8], ['igp', 9], ['udp', UDP], ['gre', 47],
  ['esp', 50], ['ah', 51], ['ipv6-icmp', ICMPV6], ['sctp', SCTP],
]);
const NAMES_BY_NUMBER = new Map<number, string>([...PROTO_NAMES].filter(([n]) => n !== 'ip-in-ip').map(([n, v]) => [v, n]));

/** Only these protocols have ports; a rule naming ports for another protocol is refused. */
export const hasPorts = (proto: number): boolean => proto === TCP || proto === UDP || proto === SCTP;

export function parseProto(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 255 ? value : null;
  if (typeof value !== 'string') return null;
  if (/^(0|[1-9]\d{0,2})$/.test(value)) return Number(value) <= 255 ? Number(value) : null;
  return PROTO_NAMES.get(value.toLowerCase()) ?? null;
}

export const protoName = (proto: number): string => NAMES_BY_NUMBER.get(proto) ?? String(proto);

/** `*`, `22`, `80,443`, `1000-2000` (and mixes) → normalised ranges, or null when malformed. */
export function parsePorts(text: string): PortRange[] | null {
  if (text === '*') return [...ALL_PORTS];
  const ranges: PortRange[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    if (!m) return null;
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (first > 65535 || last > 65535 || first > last) return null;
    ranges.push({ first, last });
  }
  return normalise(ranges);
}

export function normalise(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.first - b.first);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.first <= last.last + 1) last.last = Math.max(last.last, r.last);
    else out.push({ ...r });
  }
  return out;
}

export function subtract(from: readonly PortRange[], minus: readonly PortRange[]): PortRange[] {
  let out = [...from];
  for (const m of minus) {
    const next: PortRange[] = [];
    for (const r of out) {
      if (m.last < r.first || m.first > r.last) next.push(r);
      else {
        if (r.first < m.first) next.push({ first: r.first, last: m.first - 1 });
        if (r.last > m.last) next.push({ first: m.last + 1, last: r.last });
      }
    }
    out = next;
  }
  return out;
}

export function covers(ranges: readonly PortRange[], wanted: readonly PortRange[]): boolean {
  return subtract(wanted, ranges).length === 0;
}

export function intersects(a: readonly PortRange[], b: readonly PortRange[]): boolean {
  return a.some((x) => b.some((y) => x.first <= y.last && y.first <= x.last));
}

/** "22", "80,443", "1000-2000"; undefined for all ports (the contracts' FirewallRule leaves `ports` out then). */
export function formatPorts(ranges: readonly PortRange[]): string | undefined {
  if (ranges.length === 1 && ranges[0].first === 0 && ranges[0].last === 65535) return undefined;
  return ranges.map((r) => (r.first === r.last ? `${r.first}` : `${r.first}-${r.last}`)).join(',');
}

/** Builds a Reach from (proto, ranges) contributions, merging per protocol. */
export class ReachBuilder {
  private readonly byProto = new Map<number, PortRange[]>();

  add(proto: number, ports: readonly PortRange[]): void {
    const list = this.byProto.get(proto) ?? [];
    list.push(...(hasPorts(proto) ? ports : ALL_PORTS));
    this.byProto.set(proto, list);
  }

  /** Accepted minus denied, per protocol. */
  minus(denied: ReachBuilder): Reach {
    const out: Array<{ proto: number; ports: PortRange[] }> = [];
    for (const proto of [...this.byProto.keys()].sort((a, b) => a - b)) {
      const ports = subtract(normalise(this.byProto.get(proto)!), normalise(denied.byProto.get(proto) ?? []));
      if (ports.length) out.push({ proto, ports });
    }
    return out;
  }
}

/** What `a` opens that `b` does not (per protocol), for previews. */
export function reachMinus(a: Reach, b: Reach): Reach {
  const out: Array<{ proto: number; ports: PortRange[] }> = [];
  for (const { proto, ports } of a) {
    const other = b.find((x) => x.proto === proto)?.ports ?? [];
    const left = subtract(ports, other);
    if (left.length) out.push({ proto, ports: left });
  }
  return out;
}

/** "tcp:22,80 udp:* icmp" — one readable line per answer, for messages and previews. */
export function formatReach(reach: Reach): string {
  if (!reach.length) return 'nothing';
  return reach.map(({ proto, ports }) => (hasPorts(proto) ? `${protoName(proto)}:${formatPorts(ports) ?? '*'}` : protoName(proto))).join(' ');
}
