/**
 * Policy enforcement on real kernels: three wireguard-go nodes and a LAN in network namespaces, driven by the
 * reconciler with the Linux WireGuard and enforcement adapters (no control plane). n1 is the client; n2 runs
 * servers; n3 is a subnet router for 10.77.0.0/24, where a LAN namespace sits behind a veth. Tests build on each other.
 *
 *   n1 ──198.18.12.0/24── n2          overlay 100.64.9.{1,2,3}, groups g1, g2, g3
 *    └──198.18.13.0/24── n3 ──10.77.0.0/24── lan
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FirewallRule, NodeConfig, QosRule, RouteConfig } from '@meshgate/contracts';
import { LinuxEnforcement } from '../src/enforcement/linux-enforcement';
import { StateStore } from '../src/identity/state-store';
import { createLogger } from '../src/logger';
import { Reconciler } from '../src/reconciler/reconciler';
import { runCommand, runDetached } from '../src/wireguard/command-runner';
import { LinuxWireGuard } from '../src/wireguard/linux-wireguard';
import { inNs, NamespaceSet, sh } from './harness/netns';
import { CLIENT, ECHO_SERVER, iperfMbit, nextLine, probe as probeFrom } from './harness/tcp-tools';
import { assertNetworkTestPrerequisites } from './harness/preflight';

jest.setTimeout(90_000);

const tag = `mge${process.pid % 1000}`;
const names = ['n1', 'n2', 'n3'] as const;
type Name = (typeof names)[number];
const octet: Record<Name, number> = { n1: 1, n2: 2, n3: 3 };
const overlay = (n: Name) => `100.64.9.${octet[n]}`;
/** The underlay link each pair shares (n2 and n3 are not linked: they are not peers). */
const underlay: Partial<Record<`${Name}-${Name}`, string>> = { 'n1-n2': '198.18.12', 'n1-n3': '198.18.13' };
const linkOf = (a: Name, b: Name) => underlay[`${a}-${b}`] ?? underlay[`${b}-${a}`];

interface Node {
  ns: string;
  ifname: string;
  wg: LinuxWireGuard;
  enforcement: LinuxEnforcement;
  reconciler: Reconciler;
  publicKey: string;
  desired: NodeConfig;
}

interface Policy { firewall?: FirewallRule[]; routes?: RouteConfig[]; servedRoutes?: string[]; qos?: QosRule[] }


describe('policy enforcement with nft and tc in network namespaces', () => {
  const namespaces = new NamespaceSet();
  const nodes = {} as Record<Name, Node>;
  const lanNs = `${tag}lan`;
  const children: ChildProcess[] = [];
  const figures: string[] = [];
  let stateRoot: string;
  const logger = createLogger({ level: 'error' });

  const peersOf = (self: Name) => names.filter((n) => n !== self && linkOf(self, n) !== undefined);
  const configFor = (self: Name, version: number, policy: Policy): NodeConfig => {
    const config: NodeConfig = {
      version,
      interface: { address: `${overlay(self)}/10`, listenPort: 51820 },
      peers: peersOf(self).map((n) => ({
        publicKey: nodes[n].publicKey,
        endpoint: `${linkOf(self, n)}.${octet[n]}:51820`,
        allowedIps: [`${overlay(n)}/32`],
        persistentKeepalive: 0,
        group: `g${octet[n]}`,
      })),
      routes: policy.routes ?? [],
      servedRoutes: policy.servedRoutes ?? [],
      firewall: policy.firewall as FirewallRule[],
      qos: policy.qos ?? [],
    };
    if (policy.firewall === undefined) delete (config as Partial<NodeConfig>).firewall;
    return config;
  };
  const apply = async (self: Name, policy: Policy) => {
    const node = nodes[self];
    node.desired = configFor(self, (node.desired?.version ?? 0) + 1, policy);
    await node.reconciler.request('test');
  };
  const accept = (srcGroups: string[], proto: string, ports?: string, dst?: string[]): FirewallRule => ({
    action: 'accept', srcGroups, src: [], proto, ...(ports ? { ports } : {}), ...(dst ? { dst } : {}),
  });

  const spawnIn = (ns: string, file: string, args: string[]) => {
    const child = spawn('ip', ['netns', 'exec', ns, file, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    return child;
  };
  const probe = (from: Name, host: string, port: number, ms = 1500) => probeFrom(nodes[from].ns, host, port, ms);
  const canPing = (ns: string, host: string) =>
    inNs(ns, 'ping', ['-n', '-c', '1', '-W', '1', host]).then(() => true, () => false);
  const iperf = async (): Promise<number> => {
    // A one-off server; the client retries until it listens (a plain connect probe would use up its one test).
    spawnIn(nodes.n2.ns, 'iperf3', ['-s', '-1', '-p', '5201']);
    for (let i = 0; i < 30; i++) {
      const mbit = await iperfMbit(nodes.n1.ns, overlay('n2'), 5201);
      if (mbit !== null) return mbit;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('iperf3 server never came up');
  };

  beforeAll(async () => {
    assertNetworkTestPrerequisites();
    for (const tool of ['nft', 'tc', 'iperf3', 'sysctl']) await sh('sh', ['-c', `command -v ${tool}`]);
    stateRoot = await mkdtemp(join(tmpdir(), 'mg-enf-e2e-'));
    for (const name of names) {
      const ns = `${tag}${name}`;
      await namespaces.add(ns);
      const store = new StateStore(join(stateRoot, name));
      const { publicKey } = await store.loadOrCreateKey();
      const ifname = `${tag}${name}`;
      namespaces.trackWireGuard(ifname);
      const run = (file: string, args: string[], input?: string) => runCommand('ip', ['netns', 'exec', ns, file, ...args], input);
      const wg = new LinuxWireGuard({
        interfaceName: ifname, privateKeyPath: store.privateKeyPath, logger, run,
        startUserspace: (file, args) => runDetached('ip', ['netns', 'exec', ns, file, ...args]),
      });
      const enforcement = new LinuxEnforcement({ interfaceName: ifname, logger, run });
      const node = { ns, ifname, wg, enforcement, publicKey, desired: undefined as unknown as NodeConfig } as Node;
      node.reconciler = new Reconciler(wg, publicKey, () => node.desired, logger, enforcement);
      nodes[name] = node;
    }
    await namespaces.add(lanNs);
    for (const [pair, prefix] of Object.entries(underlay)) {
      const [a, b] = pair.split('-') as [Name, Name];
      const [ifa, ifb] = [`u${b}`, `u${a}`];
      await sh('ip', ['-n', nodes[a].ns, 'link', 'add', ifa, 'type', 'veth', 'peer', 'name', ifb, 'netns', nodes[b].ns]);
      for (const [n, dev] of [[a, ifa], [b, ifb]] as const) {
        await sh('ip', ['-n', nodes[n].ns, 'address', 'add', `${prefix}.${octet[n]}/24`, 'dev', dev]);
        await sh('ip', ['-n', nodes[n].ns, 'link', 'set', dev, 'up']);
      }
    }
    await sh('ip', ['-n', nodes.n3.ns, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', lanNs]);
    await sh('ip', ['-n', nodes.n3.ns, 'address', 'add', '10.77.0.1/24', 'dev', 'lan0']);
    await sh('ip', ['-n', nodes.n3.ns, 'link', 'set', 'lan0', 'up']);
    await sh('ip', ['-n', lanNs, 'address', 'add', '10.77.0.2/24', 'dev', 'eth0']);
    await sh('ip', ['-n', lanNs, 'link', 'set', 'eth0', 'up']);

    // Up without any firewall (an older control plane): everything passes, and the handshakes happen.
    for (const name of names) await apply(name, {});
    for (const name of ['n2', 'n3'] as const) expect(await canPing(nodes.n1.ns, overlay(name))).toBe(true);
    expect(await inNs(nodes.n1.ns, 'nft', ['list', 'tables'])).not.toMatch(/meshgate/);

    const server = spawnIn(nodes.n2.ns, process.execPath, ['-e', ECHO_SERVER, '8080', '22']);
    await nextLine(server, /ready/, 10_000);
    const lanServer = spawnIn(lanNs, process.execPath, ['-e', ECHO_SERVER, '80']);
    await nextLine(lanServer, /ready/, 10_000);
  });

  afterAll(async () => {
    if (figures.length > 0) process.stdout.write(`\nMeshGate enforcement figures\n  ${figures.join('\n  ')}\n`);
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    namespaces.teardownSync();
    if (stateRoot) await rm(stateRoot, { recursive: true, force: true });
  });

  it('with an empty rule list drops what peers initiate but lets replies to its own connections through', async () => {
    await apply('n1', { firewall: [] });
    await apply('n2', { firewall: [] });
    expect(await probe('n1', overlay('n2'), 8080)).toBe('timeout');
    expect(await canPing(nodes.n2.ns, overlay('n1'))).toBe(false);
    // n1 pinging n3 (no table there) is n1's own connection: its replies pass n1's filter.
    expect(await canPing(nodes.n1.ns, overlay('n3'))).toBe(true);
  });

  it('accepts tcp/8080 from the g1 group and nothing else', async () => {
    await apply('n2', { firewall: [accept(['g1'], 'tcp', '8080')] });
    expect(await probe('n1', overlay('n2'), 8080)).toBe('open');
    expect(await probe('n1', overlay('n2'), 22)).toBe('timeout');
    expect(await canPing(nodes.n1.ns, overlay('n2'))).toBe(false);
  });

  it('cuts a connection opened under a rule as soon as the rule is removed', async () => {
    const client = spawnIn(nodes.n1.ns, process.execPath, ['-e', CLIENT, overlay('n2'), '8080']);
    await nextLine(client, /connected/, 5_000);
    let echoed = nextLine(client, /^echo/, 3_000);
    client.stdin!.write('hello\n');
    await echoed;

    await apply('n2', { firewall: [accept(['g2'], 'tcp', '8080')] });
    echoed = nextLine(client, /^echo/, 3_000);
    client.stdin!.write('after removal\n');
    await expect(echoed).rejects.toThrow(/no line/);

    // Back under a rule, the same connection carries on (TCP retransmits what was dropped).
    await apply('n2', { firewall: [accept(['g1'], 'tcp', '8080')] });
    await nextLine(client, /^echo/, 5_000);
    client.kill('SIGKILL');
  });

  it('routes a LAN behind the subnet router n3, forwarding only while its forward rule allows', async () => {
    const route = { destination: '10.77.0.0/24', via: overlay('n3') };
    const forward = accept(['g1'], 'tcp', '80', ['10.77.0.0/24']);
    await apply('n3', { servedRoutes: ['10.77.0.0/24'], firewall: [forward, accept(['g1'], 'icmp', undefined, ['10.77.0.0/24'])] });
    await apply('n1', { firewall: [], routes: [route] });
    const n3Peer = (await inNs(nodes.n1.ns, 'wg', ['show', nodes.n1.ifname, 'allowed-ips'])).split('\n').find((l) => l.startsWith(nodes.n3.publicKey));
    expect(n3Peer).toContain('10.77.0.0/24');
    expect((await inNs(nodes.n3.ns, 'sysctl', ['-n', 'net.ipv4.ip_forward'])).trim()).toBe('1');
    expect(await canPing(nodes.n1.ns, '10.77.0.2')).toBe(true);
    expect(await probe('n1', '10.77.0.2', 80)).toBe('open');
    // The LAN host has no route to the overlay: it only works because n3 masquerades.
    expect(await inNs(lanNs, 'ip', ['route'])).not.toMatch(/100\.64/);

    await apply('n3', { servedRoutes: ['10.77.0.0/24'], firewall: [] });
    expect(await canPing(nodes.n1.ns, '10.77.0.2')).toBe(false);
    expect(await probe('n1', '10.77.0.2', 80)).toBe('timeout');
    // n3 itself is not reachable through the forward rule either.
    expect(await canPing(nodes.n1.ns, overlay('n3'))).toBe(false);

    await apply('n3', { servedRoutes: ['10.77.0.0/24'], firewall: [forward] });
    expect(await probe('n1', '10.77.0.2', 80)).toBe('open');
  });

  it('sends all of n1\'s IPv4 traffic through the exit node n3 while the exit route is there, as wg-quick would', async () => {
    const lanRoute = { destination: '10.77.0.0/24', via: overlay('n3') };
    const exit = { destination: '0.0.0.0/0', via: overlay('n3') };
    const forward = accept(['g1'], 'tcp', '80', ['10.77.0.0/24']);
    const n1Rules = async () => (await inNs(nodes.n1.ns, 'ip', ['-4', 'rule', 'show'])).split('\n').filter((l) => /fwmark/.test(l));
    const n1Fwmark = async () => (await inNs(nodes.n1.ns, 'wg', ['show', nodes.n1.ifname, 'fwmark'])).trim();
    // An "internet" host: an address on the LAN namespace that only n3 knows the way to.
    const internet = '198.51.100.7';
    await sh('ip', ['-n', lanNs, 'address', 'add', `${internet}/32`, 'dev', 'eth0']);
    await sh('ip', ['-n', nodes.n3.ns, 'route', 'add', `${internet}/32`, 'via', '10.77.0.2', 'dev', 'lan0']);
    expect(await canPing(nodes.n3.ns, internet)).toBe(true);
    expect(await canPing(nodes.n1.ns, internet)).toBe(false);

    await apply('n3', { servedRoutes: ['10.77.0.0/24', '0.0.0.0/0'], firewall: [forward, accept(['g1'], 'icmp', undefined, ['0.0.0.0/0'])] });
    await apply('n1', { firewall: [], routes: [lanRoute, exit] });
    const n3Peer = (await inNs(nodes.n1.ns, 'wg', ['show', nodes.n1.ifname, 'allowed-ips'])).split('\n').find((l) => l.startsWith(nodes.n3.publicKey));
    expect(n3Peer).toContain('0.0.0.0/0');
    expect(await n1Rules()).toHaveLength(2);
    expect(await n1Fwmark()).not.toBe('off');
    expect(await canPing(nodes.n1.ns, internet)).toBe(true);
    // The underlay still works: n2 (a peer over its own link, not through n3) and the LAN route alike.
    expect(await probe('n1', overlay('n2'), 8080)).toBe('open');
    expect(await probe('n1', '10.77.0.2', 80)).toBe('open');
    // n3's masquerade for 0.0.0.0/0 leaves out what is forwarded back into the tunnel.
    expect(await inNs(nodes.n3.ns, 'nft', ['list', 'table', 'inet', nodes.n3.enforcement.table])).toMatch(/oifname != "[^"]+" ip daddr 0\.0\.0\.0\/0 masquerade/);

    // Drift: rules and mark removed by hand come back at the next check.
    for (const line of await n1Rules()) await inNs(nodes.n1.ns, 'ip', ['-4', 'rule', 'del', 'pref', line.split(':')[0]]);
    await inNs(nodes.n1.ns, 'wg', ['set', nodes.n1.ifname, 'fwmark', '0']);
    expect(await canPing(nodes.n1.ns, internet)).toBe(false);
    await nodes.n1.reconciler.request('drift-check');
    expect(await n1Rules()).toHaveLength(2);
    expect(await canPing(nodes.n1.ns, internet)).toBe(true);
    expect(await probe('n1', overlay('n2'), 8080)).toBe('open');

    // The exit route goes away: so does everything it installed.
    await apply('n1', { firewall: [], routes: [lanRoute] });
    expect(await n1Rules()).toEqual([]);
    expect(await n1Fwmark()).toBe('off');
    expect(await canPing(nodes.n1.ns, internet)).toBe(false);
    expect(await probe('n1', '10.77.0.2', 80)).toBe('open');

    // --down-on-exit removes them too.
    await apply('n1', { firewall: [], routes: [lanRoute, exit] });
    expect(await n1Rules()).toHaveLength(2);
    await nodes.n1.enforcement.destroy();
    expect(await n1Rules()).toEqual([]);
    expect(await n1Fwmark()).toBe('off');
    expect(await inNs(nodes.n1.ns, 'ip', ['-4', 'route', 'show', 'table', 'all'])).not.toMatch(/^default/m);

    await apply('n1', { firewall: [], routes: [lanRoute] });
    await apply('n3', { servedRoutes: ['10.77.0.0/24'], firewall: [forward] });
    expect(await canPing(nodes.n1.ns, internet)).toBe(false);
  });

  it('limits n1 -> n2 to 20 Mbit/s with an HTB class picked by destination group', async () => {
    await apply('n2', { firewall: [accept(['g1'], 'tcp', '5201')] });
    await apply('n1', { firewall: [], qos: [] });
    const unlimited = await iperf();
    await apply('n1', { firewall: [], qos: [{ dstGroups: ['g2'], dst: [], rateMbit: 20 }] });
    expect(await inNs(nodes.n1.ns, 'tc', ['class', 'show', 'dev', nodes.n1.ifname])).toMatch(/class htb 1:10 .*rate 20Mbit/);
    const limited = await iperf();
    figures.push(`iperf3 n1 -> n2 over wireguard-go: ${unlimited.toFixed(1)} Mbit/s without QoS, ${limited.toFixed(1)} Mbit/s with a 20 Mbit/s rule`);
    expect(limited).toBeGreaterThan(15);
    expect(limited).toBeLessThan(25);
    expect(unlimited).toBeGreaterThan(40);
  });

  it('repairs a deleted table and a removed qdisc at the next drift check', async () => {
    await inNs(nodes.n2.ns, 'nft', ['delete', 'table', 'inet', nodes.n2.enforcement.table]);
    await inNs(nodes.n1.ns, 'tc', ['qdisc', 'del', 'dev', nodes.n1.ifname, 'root']);
    expect(await probe('n1', overlay('n2'), 22)).toBe('open');
    await nodes.n2.reconciler.request('drift-check');
    await nodes.n1.reconciler.request('drift-check');
    expect(await probe('n1', overlay('n2'), 22)).toBe('timeout');
    expect(await inNs(nodes.n1.ns, 'tc', ['qdisc', 'show', 'dev', nodes.n1.ifname, 'root'])).toMatch(/htb 1:/);

    // A rule slipped into the chain by hand is noticed by the chain digest and rewritten away.
    await inNs(nodes.n2.ns, 'nft', ['insert', 'rule', 'inet', nodes.n2.enforcement.table, 'inbound', 'tcp', 'dport', '22', 'accept']);
    expect(await probe('n1', overlay('n2'), 22)).toBe('open');
    await nodes.n2.reconciler.request('drift-check');
    expect(await probe('n1', overlay('n2'), 22)).toBe('timeout');
  });

  it('removes its table and qdisc on destroy, and only those', async () => {
    await inNs(nodes.n1.ns, 'nft', ['add', 'table', 'inet', 'someone_else']);
    await nodes.n1.enforcement.destroy();
    expect(await inNs(nodes.n1.ns, 'nft', ['list', 'tables'])).toBe('table inet someone_else\n');
    expect(await inNs(nodes.n1.ns, 'tc', ['qdisc', 'show', 'dev', nodes.n1.ifname, 'root'])).not.toMatch(/htb/);
  });
});
