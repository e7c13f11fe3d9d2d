import type { NodeConfig } from '../contracts';
import { parseNftTable, planEnforcement, planNft, type LiveEnforcement, type LiveNftTable } from './enforcement-plan';
import { NO_EXIT_ROUTING } from './exit-routing';
import { buildRuleset, chainDigest, groupSetName, type NftTable } from './nft-ruleset';

const peer = (key: string, octet: number, group?: string) => ({
  publicKey: key, endpoint: null, allowedIps: [`100.64.0.${octet}/32`], persistentKeepalive: 0, ...(group ? { group } : {}),
});
const config = (over: Partial<NodeConfig> = {}): NodeConfig => ({
  version: 1, interface: { address: '100.64.0.1/10', listenPort: 51820 },
  peers: [peer('A', 2, 'web'), peer('B', 3, 'web')], routes: [], servedRoutes: [],
  firewall: [{ action: 'accept', srcGroups: ['web'], src: [], proto: 'tcp', ports: '8080' }], qos: [], ...over,
});
const table = (c: NodeConfig): NftTable => buildRuleset(c, 'mg0').table!;
/** The live table exactly as the desired one would be written. */
const liveOf = (t: NftTable): LiveNftTable => ({
  sets: new Map(t.sets.map((s) => [s.name, s.elements])),
  chains: new Map(t.chains.map((c) => [c.name, { rules: c.rules.length, digest: c.rules.length ? chainDigest(c) : null }])),
});
const web = groupSetName('web');

describe('planNft', () => {
  it('creates the whole table in one transaction, sets before the rules that use them', () => {
    const script = planNft(table(config()), null, 'meshgate_mg0')!;
    const lines = script.trim().split('\n');
    expect(lines[0]).toBe('add table inet meshgate_mg0');
    expect(lines[1]).toBe(`add set inet meshgate_mg0 ${web} { type ipv4_addr; flags interval; }`);
    expect(lines[2]).toBe(`add element inet meshgate_mg0 ${web} { 100.64.0.2/32, 100.64.0.3/32 }`);
    expect(lines).toContain('add chain inet meshgate_mg0 input { type filter hook input priority filter; policy accept; }');
    expect(lines.indexOf('add chain inet meshgate_mg0 inbound')).toBeLessThan(lines.findIndex((l) => l.startsWith('add chain inet meshgate_mg0 input')));
    expect(lines).toContain(`add rule inet meshgate_mg0 inbound ip saddr @${web} tcp dport 8080 accept`);
  });

  it('plans nothing when the live table matches', () => {
    const t = table(config());
    expect(planNft(t, liveOf(t), 'meshgate_mg0')).toBeNull();
  });

  it('turns a peer joining and one leaving a group into element changes only', () => {
    const live = liveOf(table(config()));
    const next = config({ peers: [peer('A', 2, 'web'), peer('C', 4, 'web')] });
    expect(planNft(table(next), live, 'meshgate_mg0')).toBe(
      `delete element inet meshgate_mg0 ${web} { 100.64.0.3/32 }\nadd element inet meshgate_mg0 ${web} { 100.64.0.4/32 }\n`,
    );
  });

  it('rewrites only the chain whose rules changed, flushing and refilling it in the same transaction', () => {
    const live = liveOf(table(config()));
    const next = config({ firewall: [{ action: 'accept', srcGroups: ['web'], src: [], proto: 'tcp', ports: '8081' }] });
    const lines = planNft(table(next), live, 'meshgate_mg0')!.trim().split('\n');
    expect(lines[0]).toBe('flush chain inet meshgate_mg0 inbound');
    expect(lines.slice(1).every((l) => l.startsWith('add rule inet meshgate_mg0 inbound '))).toBe(true);
    expect(lines).toHaveLength(4);
  });

  it('repairs a chain edited by hand (a rule more, or its digest gone) and a deleted set', () => {
    const t = table(config());
    const edited = liveOf(t);
    edited.chains.set('inbound', { rules: 4, digest: null });
    edited.sets.delete(web);
    const lines = planNft(t, edited, 'meshgate_mg0')!.trim().split('\n');
    expect(lines[0]).toBe(`add set inet meshgate_mg0 ${web} { type ipv4_addr; flags interval; }`);
    expect(lines).toContain('flush chain inet meshgate_mg0 inbound');
  });

  it('removes what is no longer wanted after the rules that referred to it', () => {
    const live = liveOf(table(config()));
    const next = config({ firewall: [] });
    const lines = planNft(table(next), live, 'meshgate_mg0')!.trim().split('\n');
    expect(lines[lines.length - 1]).toBe(`delete set inet meshgate_mg0 ${web}`);
    const noFirewall = config();
    delete (noFirewall as Partial<NodeConfig>).firewall;
    expect(planNft(buildRuleset(noFirewall, 'mg0').table, live, 'meshgate_mg0')).toBe('delete table inet meshgate_mg0\n');
  });
});

describe('planEnforcement', () => {
  const fresh: LiveEnforcement = { nft: null, qdisc: { root: null, classes: [] }, ipv4Forwarding: false, exitRouting: NO_EXIT_ROUTING };
  it('turns forwarding on for served routes, and never off', () => {
    expect(planEnforcement(config({ servedRoutes: ['10.77.0.0/24'] }), fresh, 'mg0').enableForwarding).toBe(true);
    expect(planEnforcement(config(), fresh, 'mg0').enableForwarding).toBe(false);
  });
});

describe('parseNftTable', () => {
  it('reads set elements and chain digests from nft -j', () => {
    const json = JSON.stringify({ nftables: [
      { metainfo: {} },
      { table: { family: 'inet', name: 'meshgate_mg0' } },
      { set: { name: 'grp_x', elem: ['100.64.0.3', { prefix: { addr: '10.0.0.0', len: 24 } }] } },
      { set: { name: 'grp_y' } },
      { chain: { name: 'input', hook: 'input' } },
      { chain: { name: 'inbound' } },
      { rule: { chain: 'input', comment: 'mg:abc', expr: [] } },
      { rule: { chain: 'inbound', expr: [] } },
      { rule: { chain: 'inbound', comment: 'mg:def', expr: [] } },
    ] });
    const live = parseNftTable(json);
    expect(live.sets).toEqual(new Map([['grp_x', ['10.0.0.0/24', '100.64.0.3/32']], ['grp_y', []]]));
    expect(live.chains).toEqual(new Map([['input', { rules: 1, digest: 'mg:abc' }], ['inbound', { rules: 2, digest: 'mg:def' }]]));
  });
});

describe('planEnforcement with an exit route', () => {
  const fresh: LiveEnforcement = { nft: null, qdisc: { root: null, classes: [] }, ipv4Forwarding: false, exitRouting: NO_EXIT_ROUTING };
  it('adds policy routing only for an IPv4 exit route via a peer it has', () => {
    const plan = planEnforcement(config({ firewall: undefined, routes: [{ destination: '0.0.0.0/0', via: '100.64.0.2' }] }), fresh, 'mg0');
    expect(plan.exitRouting.map((c) => c.slice(0, 4).join(' '))).toContain('ip -4 rule add');
    expect(planEnforcement(config({ firewall: undefined, routes: [{ destination: '::/0', via: '100.64.0.2' }] }), fresh, 'mg0').exitRouting).toEqual([]);
    expect(planEnforcement(config({ firewall: undefined, routes: [{ destination: '0.0.0.0/0', via: '100.64.0.9' }] }), fresh, 'mg0').exitRouting).toEqual([]);
  });

  it('masquerades forwarded traffic for a served 0.0.0.0/0 except back into the interface, and filters dst 0.0.0.0/0', () => {
    const c = config({ servedRoutes: ['0.0.0.0/0'], firewall: [{ action: 'accept', srcGroups: ['web'], src: [], proto: 'icmp', dst: ['0.0.0.0/0'] }] });
    const chains = new Map(buildRuleset(c, 'mg0').table!.chains.map((ch) => [ch.name, ch.rules]));
    expect(chains.get('served_nat')).toEqual(['iifname "mg0" oifname != "mg0" ip daddr 0.0.0.0/0 masquerade']);
    expect(chains.get('forwarded')).toContain(`ip saddr @${web} ip daddr 0.0.0.0/0 meta l4proto 1 accept`);
  });
});
