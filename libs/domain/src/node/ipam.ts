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
  return checked(n);
}

/**
 * Lanes split the overlay into /24 blocks by their third octet modulo ADDRESS_LANES. Replicas that register nodes
 * into one tenant at once would all take the same next address and all but one lose the race; allocating in
 * different lanes, they do not collide. Lane blocks left half-used when the race ends are not handed out later
 * (allocation goes on after the highest address), a bounded loss: at most ADDRESS_LANES blocks per burst.
 */
export const ADDRESS_LANES = 8;

/** The highest of these addresses (null and undefined are none). */
export function highestAddress(addresses: Iterable<string | null | undefined>): string | null {
  let highest: string | null = null;
  for (const a of addresses) if (a != null && (highest === null || ipToInt(a) > ipToInt(highest))) highest = a;
  return highest;
}

export function laneOf(address: string): number {
  return (ipToInt(address) >>> 8) % ADDRESS_LANES;
}

/** The address after the highest one ever handed out in the lane's blocks (null: none yet), within that lane. */
export function nextAddressInLane(lastInLane: string | null, lane: number): string {
  const n = ipToInt(nextAddress(lastInLane));
  const block = Math.floor(n / 256);
  const ahead = (lane - (block % ADDRESS_LANES) + ADDRESS_LANES) % ADDRESS_LANES;
  return ahead === 0 ? intToIp(n) : checked((block + ahead) * 256 + 1);
}

function checked(n: number): string {
  if (n > LAST) throw new DomainError('ADDRESS_SPACE_EXHAUSTED', 'CONFLICT', 'overlay address space exhausted');
  return intToIp(n);
}
