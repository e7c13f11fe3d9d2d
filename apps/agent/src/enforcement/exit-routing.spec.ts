import { exitFwmark, NO_EXIT_ROUTING, parseExitRules, planExitRouting, type LiveExitRouting } from './exit-routing';

const f = exitFwmark('mg0');
const F = String(f);
const on: LiveExitRouting = {
  fwmark: f, defaultRoute: true, srcValidMark: true,
  rules: [{ priority: 32764, kind: 'suppress' }, { priority: 32765, kind: 'to-table' }],
};
const addToTable = ['ip', '-4', 'rule', 'add', 'not', 'fwmark', F, 'table', F];
const addSuppress = ['ip', '-4', 'rule', 'add', 'not', 'fwmark', F, 'table', 'main', 'suppress_prefixlength', '0'];

describe('exitFwmark', () => {
  it('is stable per interface and differs between interfaces', () => {
    expect(exitFwmark('mg0')).toBe(f);
    expect(f).toBeGreaterThanOrEqual(51820);
    expect(f).toBeLessThan(52820);
    expect(exitFwmark('mg1')).not.toBe(f);
  });
});

describe('planExitRouting', () => {
  it('sets the mark, the table and then the two rules, in wg-quick order', () => {
    expect(planExitRouting(true, NO_EXIT_ROUTING, 'mg0')).toEqual([
      ['wg', 'set', 'mg0', 'fwmark', F],
      ['sysctl', '-q', '-w', 'net.ipv4.conf.all.src_valid_mark=1'],
      ['ip', '-4', 'route', 'replace', '0.0.0.0/0', 'dev', 'mg0', 'table', F],
      addToTable,
      addSuppress,
    ]);
  });

  it('plans nothing when everything is in place, and nothing to remove when nothing is', () => {
    expect(planExitRouting(true, on, 'mg0')).toEqual([]);
    expect(planExitRouting(false, NO_EXIT_ROUTING, 'mg0')).toEqual([]);
    expect(planExitRouting(false, { ...NO_EXIT_ROUTING, fwmark: 1234 }, 'mg0')).toEqual([]); // someone else's mark
  });

  it('repairs only what drifted', () => {
    expect(planExitRouting(true, { ...on, fwmark: 0, defaultRoute: false }, 'mg0')).toEqual([
      ['wg', 'set', 'mg0', 'fwmark', F],
      ['ip', '-4', 'route', 'replace', '0.0.0.0/0', 'dev', 'mg0', 'table', F],
    ]);
    expect(planExitRouting(true, { ...on, rules: [on.rules[1]] }, 'mg0')).toEqual([addSuppress]);
  });

  it('rewrites both rules when one is missing the other way round, duplicated or out of order', () => {
    const del = (p: number, rest: string[]) => ['ip', '-4', 'rule', 'del', 'pref', String(p), ...rest.slice(4)];
    expect(planExitRouting(true, { ...on, rules: [on.rules[0]] }, 'mg0')).toEqual([del(32764, addSuppress), addToTable, addSuppress]);
    const swapped = { ...on, rules: [{ priority: 100, kind: 'to-table' as const }, { priority: 200, kind: 'suppress' as const }] };
    expect(planExitRouting(true, swapped, 'mg0')).toEqual([del(100, addToTable), del(200, addSuppress), addToTable, addSuppress]);
  });

  it('removes rules, then the route, then the mark', () => {
    expect(planExitRouting(false, on, 'mg0')).toEqual([
      ['ip', '-4', 'rule', 'del', 'pref', '32764', 'not', 'fwmark', F, 'table', 'main', 'suppress_prefixlength', '0'],
      ['ip', '-4', 'rule', 'del', 'pref', '32765', 'not', 'fwmark', F, 'table', F],
      ['ip', '-4', 'route', 'del', '0.0.0.0/0', 'dev', 'mg0', 'table', F],
      ['wg', 'set', 'mg0', 'fwmark', '0'],
    ]);
  });
});

describe('parseExitRules', () => {
  it('picks the rules naming this mark out of `ip -4 -j rule show`', () => {
    const hex = `0x${f.toString(16)}`;
    const json = JSON.stringify([
      { priority: 0, src: 'all', table: 'local' },
      { priority: 32763, not: null, src: 'all', fwmark: '0xca6c', table: 'main', suppress_prefixlen: 0 },
      { priority: 32764, not: null, src: 'all', fwmark: hex, table: 'main', suppress_prefixlen: 0 },
      { priority: 32765, not: null, src: 'all', fwmark: hex, table: F },
      { priority: 32765, not: null, src: 'all', fwmark: `${hex}/0xff`, table: F },
      { priority: 32766, src: 'all', table: 'main' },
    ]);
    expect(parseExitRules(json, f)).toEqual([{ priority: 32764, kind: 'suppress' }, { priority: 32765, kind: 'to-table' }]);
  });
});
