/**
 * The one IP/CIDR helper of MeshGate: IPv4/IPv6 addresses and prefixes as bigints, for the domain (policy, topology,
 * advertised routes), the contracts (DTO validation) and the agent (WireGuard, routes, nftables sets). Pure TypeScript
 * without dependencies, so the domain can import it (`@meshgate/contracts/ip`) without the DTOs' class-validator.
 *
 * One spelling: `formatPrefix` writes IPv6 as RFC 5952 does (and as `wg`, `ip` and `nft` print it), so the default
 * routes are `0.0.0.0/0` and `::/0` everywhere.
 */
export interface Prefix {
  /** 4 or 6. */
  family: 4 | 6;
  /** Network address (host bits cleared). */
  network: bigint;
  bits: number;
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseV4(text: string): bigint | null {
  const m = V4.exec(text);
  if (!m) return null;
  let value = 0n;
  for (let i = 1; i <= 4; i++) {
    if (m[i].length > 1 && m[i].startsWith('0')) return null; // "010" is octal to some tools: refuse the doubt
    const octet = Number(m[i]);
    if (octet > 255) return null;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseV6(text: string): bigint | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(':')) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string): bigint[] | null => {
    if (part === '') return [];
    const out: bigint[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i];
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseV4(piece); // IPv4-mapped tail, e.g. ::ffff:1.2.3.4
        if (v4 === null) return null;
        out.push(v4 >> 16n, v4 & 0xffffn);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) out.push(BigInt(`0x${piece}`));
      else return null;
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...Array<bigint>(halves.length === 2 ? missing : 0).fill(0n), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** An address ("100.64.0.1", "fd7a::1") or a prefix ("10.0.0.0/24"); a bare address is a /32 or /128. */
export function parsePrefix(text: string): Prefix | null {
  const [addr, len, extra] = text.split('/');
  if (extra !== undefined) return null;
  const v4 = parseV4(addr);
  const value = v4 ?? parseV6(addr);
  if (value === null) return null;
  const family: 4 | 6 = v4 !== null ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  if (len !== undefined && !/^\d{1,3}$/.test(len)) return null;
  const bits = len === undefined ? max : Number(len);
  if (bits > max) return null;
  const hostBits = BigInt(max - bits);
  return { family, bits, network: (value >> hostBits) << hostBits };
}

export function prefixContains(outer: Prefix, inner: Prefix): boolean {
  if (outer.family !== inner.family || inner.bits < outer.bits) return false;
  const hostBits = BigInt((outer.family === 4 ? 32 : 128) - outer.bits);
  return inner.network >> hostBits === outer.network >> hostBits;
}

export function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  return prefixContains(a, b) || prefixContains(b, a);
}

/** Canonical text: "10.0.0.0/24", "100.64.0.7/32", "fd7a::1/128", "::/0" (IPv6 per RFC 5952: lowercase, the longest
 * run of two or more zero groups, the first of equals, written `::`). */
export function formatPrefix(p: Prefix): string {
  return `${formatAddress(p.family, p.network)}/${p.bits}`;
}

/** An address as text: dotted quad, or RFC 5952 IPv6. */
export function formatAddress(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((value >> s) & 0xffffn).toString(16));
  let best = -1;
  let bestLen = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** Text → canonical prefix text, or null when it is not an address/prefix. */
export function canonicalPrefix(text: string): string | null {
  const p = parsePrefix(text);
  return p ? formatPrefix(p) : null;
}

/** A prefix written with its length ("10.1.0.0/24", "fd00::/64"): what the API and the agent config take as a route. */
export function isCidr(text: string): boolean {
  return text.includes('/') && parsePrefix(text) !== null;
}

/** The default route of the prefix's family (`0.0.0.0/0`, `::/0`): an exit route. */
export const DEFAULT_ROUTES: readonly string[] = ['0.0.0.0/0', '::/0'];
export const isDefaultRoute = (p: Prefix): boolean => p.bits === 0;

/** `p` minus the `holes`, as the fewest prefixes in address order (split in halves around each hole). */
export function excludePrefixes(p: Prefix, holes: readonly Prefix[]): Prefix[] {
  const relevant = holes.filter((h) => prefixesOverlap(p, h));
  if (!relevant.length) return [p];
  if (relevant.some((h) => prefixContains(h, p))) return [];
  const max = p.family === 4 ? 32 : 128;
  const half = 1n << BigInt(max - p.bits - 1);
  const low: Prefix = { family: p.family, bits: p.bits + 1, network: p.network };
  const high: Prefix = { family: p.family, bits: p.bits + 1, network: p.network + half };
  return [...excludePrefixes(low, relevant), ...excludePrefixes(high, relevant)];
}
