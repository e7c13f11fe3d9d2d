import { DomainError } from '../shared/domain-error';

/** Overlay addresses come from the CGNAT range 100.64.0.0/10, as Tailscale does: it rarely clashes with LANs. */
export const OVERLAY_CIDR = '100.64.0.0/10';
export const OVERLAY_PREFIX = 10;
const FIRST = ipToInt('100.64.0.1');
const LAST = ipToInt('100.127.255.254');

export function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * The address after the last one ever handed out in a tenant. Addresses are never reused, so an old config or log
 * line can never point at a different node. Host parts .0 and .255 are skipped: some tools treat them specially.
 */
export function nextAddress(lastAllocated: string | null): string {
  let n = lastAllocated === null ? FIRST : ipToInt(lastAllocated) + 1;
  while ((n & 255) === 0 || (n & 255) === 255) n++;
  if (n > LAST) throw new DomainError('ADDRESS_SPACE_EXHAUSTED', 'CONFLICT', 'overlay address space exhausted');
  return intToIp(n);
}
