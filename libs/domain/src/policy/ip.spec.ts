import { canonicalPrefix, excludePrefixes, formatPrefix, parsePrefix, prefixContains, prefixesOverlap } from './ip';

describe('ip prefixes', () => {
  it('canonicalises addresses and prefixes, clearing host bits', () => {
    expect(canonicalPrefix('100.64.0.7')).toBe('100.64.0.7/32');
    expect(canonicalPrefix('10.1.2.3/24')).toBe('10.1.2.0/24');
    expect(canonicalPrefix('fd7a:115c::1')).toBe('fd7a:115c:0:0:0:0:0:1/128');
    expect(canonicalPrefix('::/0')).toBe('0:0:0:0:0:0:0:0/0');
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
