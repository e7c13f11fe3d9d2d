import { DomainError } from '../shared/domain-error';
import { ADDRESS_LANES, highestAddress, intToIp, ipToInt, laneOf, nextAddress, nextAddressInLane, OVERLAY_CIDR, OVERLAY_PREFIX } from './ipam';

describe('ipam', () => {
  it('allocates from the CGNAT overlay 100.64.0.0/10', () => {
    expect(OVERLAY_CIDR).toBe('100.64.0.0/10');
    expect(OVERLAY_PREFIX).toBe(10);
  });

  it('converts addresses to integers and back', () => {
    expect(ipToInt('0.0.0.0')).toBe(0);
    expect(ipToInt('100.64.0.1')).toBe(0x64400001);
    expect(ipToInt('255.255.255.255')).toBe(0xffffffff);
    for (const ip of ['100.64.0.1', '100.127.255.254', '10.1.2.3', '255.0.128.1', '192.168.0.255']) expect(intToIp(ipToInt(ip))).toBe(ip);
  });

  it('starts at 100.64.0.1 in a fresh tenant', () => {
    expect(nextAddress(null)).toBe('100.64.0.1');
  });

  it('hands out addresses sequentially', () => {
    expect(nextAddress('100.64.0.1')).toBe('100.64.0.2');
    expect(nextAddress('100.64.3.17')).toBe('100.64.3.18');
  });

  it('skips host parts .255 and .0', () => {
    expect(nextAddress('100.64.0.253')).toBe('100.64.0.254');
    expect(nextAddress('100.64.0.254')).toBe('100.64.1.1');
    expect(nextAddress('100.64.255.254')).toBe('100.65.0.1');
  });

  it('never reuses: a walk of 2,000 allocations is strictly increasing, unique and free of .0/.255', () => {
    const seen = new Set<string>();
    let last: string | null = null;
    for (let i = 0; i < 2000; i++) {
      const next = nextAddress(last);
      const host = ipToInt(next) & 255;
      if (seen.has(next) || (last !== null && ipToInt(next) <= ipToInt(last)) || host === 0 || host === 255) {
        throw new Error(`allocation ${i}: ${next} after ${last}`);
      }
      seen.add(next);
      last = next;
    }
    // 254 usable host parts per /24: the 2,000th address sits in the eighth /24.
    expect(last).toBe(`100.64.${Math.floor(1999 / 254)}.${(1999 % 254) + 1}`);
  });

  it('continues after the last address ever handed out, whatever was freed since', () => {
    // Only the tenant's high-water mark is known to ipam; freed addresses below it are never seen again.
    expect(nextAddress('100.64.9.9')).toBe('100.64.9.10');
  });

  it('hands out the very last address, then refuses with a DomainError', () => {
    expect(nextAddress('100.127.255.253')).toBe('100.127.255.254');
    let error: unknown;
    try {
      nextAddress('100.127.255.254');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'ADDRESS_SPACE_EXHAUSTED', kind: 'CONFLICT' });
    expect(() => nextAddress('100.128.0.1')).toThrow(DomainError);
  });

  describe('lanes', () => {
    it('are /24 blocks by third octet modulo 8', () => {
      expect(ADDRESS_LANES).toBe(8);
      expect([laneOf('100.64.0.1'), laneOf('100.64.3.200'), laneOf('100.64.8.1'), laneOf('100.65.15.254')]).toEqual([0, 3, 0, 7]);
    });

    it('start at the lane\u2019s first block and go on within it, then jump to the lane\u2019s next block', () => {
      expect(nextAddressInLane(null, 0)).toBe('100.64.0.1');
      expect(nextAddressInLane(null, 5)).toBe('100.64.5.1');
      expect(nextAddressInLane('100.64.5.7', 5)).toBe('100.64.5.8');
      expect(nextAddressInLane('100.64.5.254', 5)).toBe('100.64.13.1');
      expect(nextAddressInLane('100.64.253.254', 5)).toBe('100.65.5.1');
    });

    it('never give two lanes the same address: 8 lanes \u00d7 600 allocations are all distinct, each in its lane', () => {
      const seen = new Set<string>();
      for (let lane = 0; lane < ADDRESS_LANES; lane++) {
        let last: string | null = null;
        for (let i = 0; i < 600; i++) {
          const next = nextAddressInLane(last, lane);
          const host = ipToInt(next) & 255;
          if (seen.has(next) || laneOf(next) !== lane || (last !== null && ipToInt(next) <= ipToInt(last)) || host === 0 || host === 255) {
            throw new Error(`lane ${lane}, allocation ${i}: ${next} after ${last}`);
          }
          seen.add(next);
          last = next;
        }
      }
      expect(seen.size).toBe(ADDRESS_LANES * 600);
    });

    it('compare addresses as numbers when finding the highest of a lane or a tenant', () => {
      expect(highestAddress(['100.64.9.1', undefined, '100.64.10.1', null, '100.64.2.254'])).toBe('100.64.10.1');
      expect(highestAddress([null, undefined])).toBeNull();
    });

    it('refuse past the overlay\u2019s last address', () => {
      expect(nextAddressInLane('100.127.255.253', 7)).toBe('100.127.255.254');
      expect(() => nextAddressInLane('100.127.255.254', 7)).toThrow(DomainError);
      expect(() => nextAddressInLane('100.127.250.254', 2)).toThrow(DomainError);
    });
  });
});
