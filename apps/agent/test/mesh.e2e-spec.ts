/**
 * The whole system as a real network: the control plane and three agents (n1, n2, n3), each in its own network
 * namespace on a bridged underlay, each driving a real wireguard-go. Tests run in order and build on each other.
 */
import { readFileSync } from 'node:fs';
import { MeshLab, sleep, waitFor } from './harness/mesh-lab';

jest.setTimeout(60_000);

const NAMES = ['n1', 'n2', 'n3'];
const ALLOW_ALL = [{ action: 'accept' as const, src: ['*'], dst: ['*'] }];
const DENY_N1_N3 = [
  ...ALLOW_ALL,
  { action: 'deny' as const, src: ['n1'], dst: ['n3'] },
  { action: 'deny' as const, src: ['n3'], dst: ['n1'] },
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

describe('MeshGate mesh in network namespaces', () => {
  const lab = new MeshLab();
  const keys: Record<string, string> = {};
  const figures: string[] = [];

  /** Whether `name`'s live interface lists exactly the given other nodes as peers. */
  const hasPeers = async (name: string, others: string[]) => {
    const live = (await lab.peers(name)).sort();
    return JSON.stringify(live) === JSON.stringify(others.map((o) => keys[o]).sort());
  };
  const fullMesh = async () => {
    for (const name of NAMES) if (!(await hasPeers(name, NAMES.filter((n) => n !== name)))) return false;
    return true;
  };
  /** Every node reaches every other. A peer just re-added may need one handshake retry (WireGuard waits 5 s). */
  const allPairsPing = async () => {
    for (const from of NAMES) {
      for (const to of NAMES) {
        if (from !== to) await waitFor(() => lab.canPing(from, to), 12_000, () => `${from} cannot ping ${to}\n${lab.tails()}`, 100);
      }
    }
  };
  const n1n3Denied = async () => (await hasPeers('n1', ['n2'])) && (await hasPeers('n3', ['n2'])) && (await hasPeers('n2', ['n1', 'n3']));

  beforeAll(async () => {
    MeshLab.preflight();
    await lab.createNetwork(NAMES);
    await lab.startControlPlane();
    const enrollmentKey = await lab.bootstrapTenant();
    await lab.putPolicy(ALLOW_ALL);
    for (const name of NAMES) {
      lab.writeAgentConfig(name, enrollmentKey);
      lab.startAgent(name);
    }
  });

  afterAll(async () => {
    if (figures.length > 0) process.stdout.write(`\nMeshGate agent figures\n  ${figures.join('\n  ')}\n`);
    await lab.teardown();
  });

  it('registers three nodes that form a full mesh every node can ping', async () => {
    await waitFor(async () => (await lab.api.expect<any[]>(200, 'GET', '/api/v1/nodes')).length === 3, 20_000, () => lab.tails(), 200);
    const nodes = await lab.api.expect<any[]>(200, 'GET', '/api/v1/nodes');
    for (const view of nodes) {
      const node = lab.node(view.name);
      node.id = view.id;
      node.overlay = String(view.address).split('/')[0];
      keys[view.name] = view.publicKey;
    }
    await waitFor(fullMesh, 15_000, () => `no full mesh\n${lab.tails()}`);
    for (const name of NAMES) expect(await lab.publicKey(name)).toBe(keys[name]);
    await allPairsPing();
  });

  it('applies a policy denying n1<->n3 within 5 s while an n1->n2 ping loses no packet', async () => {
    const pinging = lab.ping('n1', 'n2', ['-c', '50', '-i', '0.05', '-W', '1']);
    await sleep(500);
    const started = Date.now();
    await lab.putPolicy(DENY_N1_N3);
    await waitFor(n1n3Denied, 5_000, () => `deny not applied\n${lab.tails()}`);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(5_000);
    expect(await lab.peers('n1')).not.toContain(keys.n3);
    expect(await lab.canPing('n1', 'n3')).toBe(false);
    expect(await lab.canPing('n1', 'n2')).toBe(true);
    const output = await pinging;
    expect(output).toMatch(/50 packets transmitted, 50 received, 0% packet loss/);
    figures.push(`deny n1<->n3 live on all agents ${elapsed} ms after PUT; concurrent n1->n2 ping: 50/50 replies`);
  });

  it('measures PUT /api/v1/policies until live on all three agents (11 changes)', async () => {
    const samples: number[] = [];
    let denied = true;
    for (let i = 0; i < 11; i++) {
      denied = !denied;
      const started = Date.now();
      await lab.putPolicy(denied ? DENY_N1_N3 : ALLOW_ALL);
      await waitFor(denied ? n1n3Denied : fullMesh, 5_000, () => `change ${i} not applied\n${lab.tails()}`, 10);
      samples.push(Date.now() - started);
    }
    expect(denied).toBe(false);
    figures.push(`policy propagation (PUT -> all agents' wg show): median ${median(samples)} ms, min ${Math.min(...samples)}, max ${Math.max(...samples)} over ${samples.length} changes`);
    expect(median(samples)).toBeLessThan(5_000);
    await allPairsPing();
  });

  it('keeps tunnels up while the control plane is down; agents reconnect and apply a later change', async () => {
    await lab.killControlPlane();
    await sleep(1_500);
    expect(await lab.canPing('n1', 'n2')).toBe(true);
    expect(await lab.canPing('n2', 'n3')).toBe(true);
    expect(await lab.canPing('n3', 'n1')).toBe(true);
    await lab.startControlPlane();
    const started = Date.now();
    await lab.putPolicy(DENY_N1_N3);
    await waitFor(n1n3Denied, 20_000, () => `change after restart not applied\n${lab.tails()}`, 50);
    figures.push(`after a control plane restart, a change was live on all agents ${Date.now() - started} ms after PUT (includes reconnect backoff)`);
    await lab.putPolicy(ALLOW_ALL);
    await waitFor(fullMesh, 5_000, () => `allow-all not applied\n${lab.tails()}`);
    await allPairsPing();
  });

  it('repairs a deleted interface and a killed wireguard-go on n2 within 10 s', async () => {
    const n2 = lab.node('n2');
    const restored = async () => (await hasPeers('n2', ['n1', 'n3'])) && (await lab.canPing('n2', 'n1'));

    let started = Date.now();
    await lab.sh('ip', ['-n', n2.ns, 'link', 'del', n2.ifname]);
    await waitFor(restored, 10_000, () => `n2 interface not repaired\n${lab.tails()}`, 100);
    const afterDelete = Date.now() - started;

    const agentPid = n2.agent!.pid;
    const others = (await lab.sh('ip', ['netns', 'pids', n2.ns])).split(/\s+/).filter(Boolean).map(Number).filter((p) => p !== agentPid);
    // A short-lived helper (ip, nft) may exit between the listing and the read: it is not wireguard-go.
    const commOf = (pid: number) => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return ''; } };
    const wgGo = others.filter((p) => commOf(p) === 'wireguard-go');
    expect(wgGo).toHaveLength(1);
    started = Date.now();
    process.kill(wgGo[0], 'SIGKILL');
    await waitFor(async () => !(await hasPeers('n2', ['n1', 'n3'])), 5_000, () => 'wireguard-go kill had no effect', 20);
    await waitFor(restored, 10_000, () => `n2 wireguard-go not repaired\n${lab.tails()}`, 100);
    const afterKill = Date.now() - started;
    figures.push(`drift repair on n2: interface deleted -> peers back and pinging in ${afterDelete} ms; wireguard-go killed -> ${afterKill} ms`);
    expect(await lab.canPing('n1', 'n2')).toBe(true);
  });

  it('keeps its identity across an agent restart (same id, no duplicate) and keeps the interface while stopped', async () => {
    const n1 = lab.node('n1');
    expect(await n1.agent!.stop('SIGTERM')).toBe(0);
    expect(await hasPeers('n1', ['n2', 'n3'])).toBe(true);
    expect(await lab.canPing('n1', 'n2')).toBe(true);
    lab.startAgent('n1');
    await waitFor(() => /config stream connected/.test(n1.agent!.log()), 10_000, () => lab.tails(), 100);
    const nodes = await lab.api.expect<any[]>(200, 'GET', '/api/v1/nodes');
    expect(nodes.map((n) => n.name).sort()).toEqual(NAMES);
    expect(nodes.find((n) => n.name === 'n1').id).toBe(n1.id);
    expect(n1.agent!.log()).not.toMatch(/registered with the control plane/);
    await waitFor(() => lab.canPing('n1', 'n3'), 5_000, () => `n1 cannot ping n3 after restart\n${lab.tails()}`, 100);
  });

  it('measures agent memory and idle CPU', async () => {
    const clockTicks = 100;
    const cpuTicks = (pid: number) => {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return Number(fields[11]) + Number(fields[12]);
    };
    const pids = NAMES.map((n) => lab.node(n).agent!.pid);
    const before = pids.map(cpuTicks);
    const windowMs = 10_000;
    await sleep(windowMs);
    const cpu = pids.map((pid, i) => ((cpuTicks(pid) - before[i]) / clockTicks / (windowMs / 1000)) * 100);
    const rss = pids.map((pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024);
    figures.push(`agent RSS: ${rss.map((r) => r.toFixed(1)).join(' / ')} MiB (n1/n2/n3)`);
    figures.push(`agent CPU while idle over ${windowMs / 1000} s (heartbeat 1 s, drift check 1 s): ${cpu.map((c) => c.toFixed(2)).join(' / ')} % of one core`);
    for (const r of rss) expect(r).toBeLessThan(200);
  });

  it('drops a removed node from the other nodes\' peers', async () => {
    await lab.api.expect(204, 'DELETE', `/api/v1/nodes/${lab.node('n3').id}`);
    await waitFor(async () => (await hasPeers('n1', ['n2'])) && (await hasPeers('n2', ['n1'])), 5_000, () => `n3 not dropped\n${lab.tails()}`);
    expect(await lab.canPing('n1', 'n3')).toBe(false);
    expect(await lab.canPing('n1', 'n2')).toBe(true);
    await waitFor(() => /node token/.test(lab.node('n3').agent!.log()), 10_000, () => 'n3 did not report its revoked token');
  });

  it('removes the interface on SIGTERM with --down-on-exit', async () => {
    const n2 = lab.node('n2');
    await n2.agent!.stop('SIGTERM');
    const agent = lab.startAgent('n2', ['--down-on-exit']);
    await waitFor(() => /config stream connected/.test(agent.log()), 10_000, () => lab.tails(), 100);
    expect(await agent.stop('SIGTERM')).toBe(0);
    expect(await lab.peers('n2')).toEqual([]);
    await expect(lab.sh('ip', ['-n', n2.ns, 'link', 'show', n2.ifname])).rejects.toThrow(/does not exist/);
  });
});
