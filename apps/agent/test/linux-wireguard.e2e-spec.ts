/**
 * The Linux adapter and the reconciler against real wireguard-go in two network namespaces joined by a veth:
 * real handshakes, real pings, no control plane.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeConfig } from '@meshgate/contracts';
import { StateStore } from '../src/identity/state-store';
import { createLogger } from '../src/logger';
import { Reconciler } from '../src/reconciler/reconciler';
import { runCommand, runDetached } from '../src/wireguard/command-runner';
import { LinuxWireGuard } from '../src/wireguard/linux-wireguard';
import { inNs, NamespaceSet, sh } from './harness/netns';
import { assertNetworkTestPrerequisites } from './harness/preflight';

jest.setTimeout(60_000);

const tag = `mgw${process.pid % 1000}`;
const sides = ['a', 'b'] as const;
type Side = (typeof sides)[number];

interface Node {
  ns: string;
  ifname: string;
  wg: LinuxWireGuard;
  reconciler: Reconciler;
  publicKey: string;
  desired: NodeConfig;
}

describe('LinuxWireGuard with wireguard-go in network namespaces', () => {
  const namespaces = new NamespaceSet();
  const nodes = {} as Record<Side, Node>;
  let stateRoot: string;
  const logger = createLogger({ level: 'error' });

  const configFor = (self: Side, version: number, extraPeers: NodeConfig['peers'] = []): NodeConfig => {
    const other: Side = self === 'a' ? 'b' : 'a';
    const octet = (s: Side) => (s === 'a' ? 1 : 2);
    return {
      version,
      interface: { address: `100.64.7.${octet(self)}/10`, listenPort: 51820 },
      peers: [
        { publicKey: nodes[other].publicKey, endpoint: `198.18.7.${octet(other)}:51820`, allowedIps: [`100.64.7.${octet(other)}/32`], persistentKeepalive: 25 },
        ...extraPeers,
      ],
      routes: [], servedRoutes: [], firewall: [], qos: [],
    };
  };
  const peerKeys = async (side: Side) => (await sh('wg', ['show', nodes[side].ifname, 'peers'])).split('\n').filter(Boolean);
  const ping = (from: Side, to: string, args: string[] = ['-c', '2', '-W', '2']) => inNs(nodes[from].ns, 'ping', ['-n', ...args, to]);

  beforeAll(async () => {
    assertNetworkTestPrerequisites();
    stateRoot = await mkdtemp(join(tmpdir(), 'mg-wg-e2e-'));
    for (const side of sides) {
      const ns = `${tag}${side}`;
      await namespaces.add(ns);
      const store = new StateStore(join(stateRoot, side));
      const { publicKey } = await store.loadOrCreateKey();
      const ifname = `${tag}${side}`;
      namespaces.trackWireGuard(ifname);
      const wg = new LinuxWireGuard({
        interfaceName: ifname,
        privateKeyPath: store.privateKeyPath,
        logger,
        run: (file, args) => runCommand('ip', ['netns', 'exec', ns, file, ...args]),
        startUserspace: (file, args) => runDetached('ip', ['netns', 'exec', ns, file, ...args]),
      });
      const node: Node = { ns, ifname, wg, publicKey, desired: undefined as unknown as NodeConfig, reconciler: undefined as unknown as Reconciler };
      node.reconciler = new Reconciler(wg, publicKey, () => node.desired, logger);
      nodes[side] = node;
    }
    await sh('ip', ['-n', nodes.a.ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', nodes.b.ns]);
    for (const side of sides) {
      await sh('ip', ['-n', nodes[side].ns, 'address', 'add', `198.18.7.${side === 'a' ? 1 : 2}/24`, 'dev', 'eth0']);
      await sh('ip', ['-n', nodes[side].ns, 'link', 'set', 'eth0', 'up']);
    }
  });

  afterAll(async () => {
    namespaces.teardownSync();
    if (stateRoot) await rm(stateRoot, { recursive: true, force: true });
  });

  it('brings both interfaces up from nothing and carries pings', async () => {
    for (const side of sides) {
      nodes[side].desired = configFor(side, 1);
      await nodes[side].reconciler.request('test');
    }
    await ping('a', '100.64.7.2');
    const live = await nodes.a.wg.read();
    expect(live).toMatchObject({ publicKey: nodes.a.publicKey, listenPort: 51820, up: true, addresses: ['100.64.7.1/10'] });
    expect(live!.peers[0]).toMatchObject({ publicKey: nodes.b.publicKey, allowedIps: ['100.64.7.2/32'], persistentKeepalive: 25 });
    expect(live!.peers[0].latestHandshake).toBeGreaterThan(0);
  });

  it('adds and removes another peer without dropping a packet on the existing one', async () => {
    const pinging = ping('a', '100.64.7.2', ['-c', '30', '-i', '0.05', '-W', '1']);
    const extra = { publicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=', endpoint: '198.18.7.9:51820', allowedIps: ['100.64.7.9/32'], persistentKeepalive: 0 };
    await new Promise((r) => setTimeout(r, 300));
    nodes.a.desired = configFor('a', 2, [extra]);
    await nodes.a.reconciler.request('test');
    expect(await peerKeys('a')).toContain(extra.publicKey);
    nodes.a.desired = configFor('a', 3);
    await nodes.a.reconciler.request('test');
    expect(await peerKeys('a')).toEqual([nodes.b.publicKey]);
    expect(await pinging).toMatch(/ 0% packet loss/);
  });

  it('restores a peer removed by hand', async () => {
    await sh('wg', ['set', nodes.a.ifname, 'peer', nodes.b.publicKey, 'remove']);
    await nodes.a.reconciler.request('drift-check');
    expect(await peerKeys('a')).toEqual([nodes.b.publicKey]);
    await ping('a', '100.64.7.2');
  });

  it('recreates a deleted interface and a killed wireguard-go', async () => {
    await inNs(nodes.b.ns, 'ip', ['link', 'del', nodes.b.ifname]);
    expect(await nodes.b.wg.read()).toBeNull();
    await nodes.b.reconciler.request('drift-check');
    await ping('b', '100.64.7.1', ['-c', '1', '-W', '5']);

    const pid = (await sh('ip', ['netns', 'pids', nodes.b.ns])).split(/\s+/).filter(Boolean);
    expect(pid).toHaveLength(1);
    process.kill(Number(pid[0]), 'SIGKILL');
    for (let i = 0; i < 50 && (await nodes.b.wg.read()) !== null; i++) await new Promise((r) => setTimeout(r, 100));
    await nodes.b.reconciler.request('drift-check');
    await ping('b', '100.64.7.1', ['-c', '1', '-W', '5']);
  });

  it('removes the interface on destroy', async () => {
    await nodes.a.wg.destroy();
    expect(await nodes.a.wg.read()).toBeNull();
  });
});
