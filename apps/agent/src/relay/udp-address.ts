import { formatAddress, parsePrefix } from '../contracts';

/** One IP address as a number; an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`, as dual-stack sockets report IPv4) is IPv4. */
export interface Ip { family: 4 | 6; value: bigint }

const MAPPED_V4 = 0xffffn << 32n;

export function parseIp(text: string): Ip | null {
  if (text.includes('/')) return null;
  const p = parsePrefix(text);
  if (p === null) return null;
  if (p.family === 6 && p.network >> 32n === 0xffffn) return { family: 4, value: p.network - MAPPED_V4 };
  return { family: p.family, value: p.network };
}

/** The one spelling of an address: dotted quad, or RFC 5952 IPv6; null when `text` is not an address. */
export function canonicalIp(text: string): string | null {
  const ip = parseIp(text);
  return ip === null ? null : formatAddress(ip.family, ip.value);
}

/** "1.2.3.4:5", "[fd7a::1]:5": the endpoint form WireGuard writes. */
export function formatEndpoint(ip: string, port: number): string {
  const text = canonicalIp(ip) ?? ip;
  return text.includes(':') ? `[${text}]:${port}` : `${text}:${port}`;
}

/** "host:port" or "[v6]:port" → its parts, or null when it is not that shape (the host may be a name). */
export function parseEndpoint(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2], port };
}
