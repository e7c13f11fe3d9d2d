import { canonicalPrefix, excludePrefixes, formatPrefix, isCidr, parsePrefix, prefixContains, prefixesOverlap } from './ip';

describe('ip prefixes', () => {
  it('canonicalises addresses and prefixes, clearing host bits', () => {
    expect(canonicalPrefix('100.64.0.7')).toBe('100.64.0.7/32');
    expect(canonicalPrefix('10.1.2.3/24')).toBe('10.1.2.0/24');
    expect(canonicalPrefix('fd7a:115c::1')).toBe('fd7a:115c::1/128');
    expect(canonicalPrefix('::/0')).toBe('::/0');
    expect(canonicalPrefix('0:0:0:0:0:0:0:0/0')).toBe('::/0');
  });

  it('writes IPv6 as RFC 5952 does (as wg, ip and nft print it)', () => {
    expect(canonicalPrefix('FD00:0:0:0:0:0:0:1')).toBe('fd00::1/128');
    expect(canonicalPrefix('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1/128'); // the first of two equal runs
    expect(canonicalPrefix('2001:0:0:1:0:0:0:1')).toBe('2001:0:0:1::1/128'); // the longest run
    expect(canonicalPrefix('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1/128'); // one zero group stays
    expect(canonicalPrefix('fd00::/8')).toBe('fd00::/8');
    expect(canonicalPrefix('fd12:3456::7/48')).toBe('fd12:3456::/48');
    expect(canonicalPrefix('::1')).toBe('::1/128');
    expect(canonicalPrefix('1::')).toBe('1::/128');
  });

  it('knows a CIDR (a prefix with its length) from a bare address or junk', () => {
    for (const good of ['10.1.0.0/24', '0.0.0.0/0', '::/0', 'fd00::/64', '100.64.0.7/32']) expect(isCidr(good)).toBe(true);
    for (const bad of ['10.1.0.0', '10.0.0.0/33', '300.0.0.0/8', 'fd00::/129', '1:2:3/64', 'web/8', '10.0.0.0/08x']) {
      expect(isCidr(bad)).toBe(false);
    }
  });

  it('refuses what is not an address', () => {
    for (const bad of ['300.1.1.1', '10.0.0.0/33', '1.2.3', 'web', '010.1.1.1', '1::2::3', '10.0.0.0/8/1']) {
      expect(parsePrefix(bad)).toBeNull();
    }
  });

  it('answers containment and overlap', () => {
    const lan = parsePrefix('10.1.0.0/16')!;
    expect(prefixContains(lan, parsePrefix('10.1.2.0/24')!)).toBe(true);
    expect(prefixContains(parsePrefix('10.1.2.0/24')!, lan)).toBe(false);
    expect(prefixesOverlap(parsePrefix('10.1.2.0/24')!, lan)).toBe(true);
    expect(prefixContains(parsePrefix('0.0.0.0/0')!, parsePrefix('fd00::1')!)).toBe(false);
  });

  it('cuts holes out of a prefix with the fewest prefixes', () => {
    const cut = (p: string, holes: string[]) => excludePrefixes(parsePrefix(p)!, holes.map((h) => parsePrefix(h)!)).map(formatPrefix);
    expect(cut('10.0.0.0/30', ['10.0.0.1'])).toEqual(['10.0.0.0/32', '10.0.0.2/31']);
    expect(cut('10.0.0.0/24', ['192.168.0.0/16'])).toEqual(['10.0.0.0/24']);
    expect(cut('10.0.0.0/24', ['10.0.0.0/8'])).toEqual([]);
  });
});
