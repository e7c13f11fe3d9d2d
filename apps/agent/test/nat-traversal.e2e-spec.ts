/**
 * Reaching every machine, in network namespaces: two homes, each behind its own NAT router (nftables masquerade), a
 * public relay node and the control plane on the "internet" (see harness/nat-lab.ts). With NATs that keep ports the
 * homes connect directly (hole punching on the reflexive endpoints their agents learn from the relay's reflector)
 * and the relay forwards nothing; with NATs that randomise ports they connect through the relay, which forwards
 * ciphertext only. Policy and names apply either way. Figures go to test-artifacts/nat-traversal.txt.
 */
import { appendFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdminApi } from './harness/admin-api';
import { ControlPlaneProcess } from './harness/control-plane-process';
import type { ManagedProcess } from './harness/managed-process';
import { AGENT_MAIN, CONTROL_PLANE_MAIN } from './harness/mesh-lab';
import { assertNatLabPrerequisites, createNatLab, NatLab, NatMode } from './harness/nat-lab';
import { sleep, waitFor } from './harness/wait';

jest.setTimeout(240_000);

const ARTIFACTS = join(__dirname, '../../../test-artifacts');
const METRICS_PORT = 9464;
const POLICY = {
  acls: [
    { action: 'accept', src: ['web-1'], dst: ['db-1:*'] },
    { action: 'deny', src: ['web-1'], proto: 'tcp', dst: ['db-1:7000'] },
    { action: 'accept', src: ['db-1'], dst: ['web-1:*'] },
  ],
  relays: ['relay-1'],
};

interface LabAgent { name: string; ns: string; ifname: string; process: ManagedProcess; overlay: string; id: string }

class TraversalLab {
  agents = new Map<string, LabAgent>();
  api!: AdminApi;
  private cp!: ControlPlaneProcess;
  private key = '';

  constructor(readonly lab: NatLab) {}

  async start(): Promise<void> {
    this.cp = new ControlPlaneProcess({ label: 'cp', ns: this.lab.public.ns, port: 8080, dir: this.lab.dir, main: CONTROL_PLANE_MAIN });
    await this.cp.start({
      DATABASE_PATH: join(this.lab.dir, 'db', 'meshgate.sqlite'), JWT_SECRET: 'nat-lab-secret-0123456789abcdef0123456789', HEARTBEAT_INTERVAL_SECONDS: '2',
      AUTH_RATE_LIMIT: '100000', REGISTRATION: 'open',
    });
    this.api = this.cp.api;
    const email = 'admin@nat.test';
    const password = 'correct-horse-battery';
    await this.api.expect(201, 'POST', '/api/v1/auth/register', { email, password });
    this.api.token = (await this.api.expect(200, 'POST', '/api/v1/auth/login', { email, password })).accessToken;
    const tenant = await this.api.expect(201, 'POST', '/api/v1/auth/tenants', { name: 'Acme Homes' });
    this.api.token = (await this.api.expect(200, 'POST', '/api/v1/auth/login', { email, password, tenantId: tenant.id })).accessToken;
    await this.api.expect(200, 'PUT', '/api/v1/policies', POLICY);
    this.key = (await this.api.expect(201, 'POST', '/api/v1/enrollment-keys', { reusable: true })).key;
  }

  /** Starts an agent in `ns`; a relay is told its public endpoint, home nodes are told nothing about theirs. */
  async agent(name: string, ns: string, endpoint: string | null): Promise<LabAgent> {
    const ifname = `${this.lab.tag}${name.slice(0, 1)}${name.slice(-1)}`;
    this.lab.trackWireGuard(ifname);
    const stateDir = join(this.lab.dir, `${name}-state`);
    const configPath = join(this.lab.dir, `${name}.json`);
    writeFileSync(configPath, JSON.stringify({
      control_plane_url: this.cp.url, auth_token: this.key, interface_name: ifname, node_name: name, listen_port: 51820,
      heartbeat_interval: 1, reconcile_interval: 1, state_dir: stateDir, metrics_port: METRICS_PORT,
      ...(endpoint ? { endpoint } : {}),
    }), { mode: 0o600 });
    const process = this.lab.spawn(ns, `agent-${name}`, [globalThis.process.execPath, AGENT_MAIN, '--config', configPath]);
    let node: { id: string; address: string } | undefined;
    await waitFor(async () => {
      const nodes = await this.api.expect<Array<{ id: string; name: string; address: string; status: string }>>(200, 'GET', '/api/v1/nodes');
      node = nodes.find((n) => n.name === name && n.status === 'online');
      return node !== undefined;
    }, 30_000, () => `${name} never came online:\n${process.tail()}`, 200);
    const agent = { name, ns, ifname, process, overlay: node!.address, id: node!.id };
    this.agents.set(name, agent);
    return agent;
  }

  get(name: string): LabAgent {
    return this.agents.get(name)!;
  }

  canPing(from: string, to: string): Promise<boolean> {
    return this.lab.exec(this.get(from).ns, ['ping', '-n', '-c', '1', '-W', '1', this.get(to).overlay]).then(() => true, () => false);
  }

  /** Milliseconds until `from` pings `to` over the overlay. */
  async timeToFirstPacket(from: string, to: string, timeoutMs: number): Promise<number> {
    const t0 = Date.now();
    await waitFor(() => this.canPing(from, to), timeoutMs, () => `${from} never reached ${to}:\n${this.tails()}`, 100);
    return Date.now() - t0;
  }

  /** The relay agent's forwarded byte counter (its /metrics on its own loopback). */
  async relayForwardedBytes(): Promise<number> {
    const text = await this.lab.exec(this.lab.relay.ns, ['curl', '-s', `http://127.0.0.1:${METRICS_PORT}/metrics`]);
    const line = text.split('\n').find((l) => l.startsWith('meshgate_agent_relay_forwarded_bytes_total '));
    if (!line) throw new Error(`relay metrics without the forwarded counter:\n${text.slice(0, 400)}`);
    return Number(line.split(' ')[1]);
  }

  /** The endpoint `from`'s interface dials `to` at. */
  async endpointOf(from: string, to: string): Promise<string> {
    const key = (await this.lab.exec(this.get(to).ns, ['wg', 'show', this.get(to).ifname, 'public-key'])).trim();
    const lines = (await this.lab.exec(this.get(from).ns, ['wg', 'show', this.get(from).ifname, 'endpoints'])).split('\n');
    return lines.find((l) => l.startsWith(key))?.split('\t')[1] ?? '(none)';
  }

  /** iperf3 from `from` to `to` for `seconds`: Mbit/s received. */
  async iperf(from: string, to: string, seconds = 3): Promise<number> {
    const server = this.lab.spawn(this.get(to).ns, `iperf-${to}-${Date.now()}`, ['iperf3', '-s', '-1', '-B', this.get(to).overlay, '-p', '5201']);
    try {
      await sleep(300);
      const out = await this.lab.exec(this.get(from).ns, ['iperf3', '-c', this.get(to).overlay, '-p', '5201', '-t', String(seconds), '-J'], (seconds + 15) * 1000);
      return JSON.parse(out).end.sum_received.bits_per_second / 1e6;
    } finally {
      await server.stop('SIGKILL', 2_000);
    }
  }

  /** Whether a TCP connection from `from` to `to`:port opens (something listens there). */
  async tcpOpens(from: string, to: string, port: number): Promise<boolean> {
    const listener = this.lab.spawn(this.get(to).ns, `listen-${port}-${Date.now()}`, [globalThis.process.execPath, '-e',
      `require('net').createServer((s) => s.end('hi')).listen(${port}, '${this.get(to).overlay}')`]);
    try {
      await sleep(300);
      const script = `const s = require('net').connect(${port}, '${this.get(to).overlay}'); s.setTimeout(2000);`
        + 's.on("data", () => process.exit(0)); s.on("timeout", () => process.exit(1)); s.on("error", () => process.exit(1));';
      return await this.lab.exec(this.get(from).ns, [globalThis.process.execPath, '-e', script], 10_000).then(() => true, () => false);
    } finally {
      await listener.stop('SIGKILL', 2_000);
    }
  }

  /** `dig` on `from` against its own overlay address: the answer, or the status when there is none. */
  async dig(from: string, name: string): Promise<string> {
    const out = await this.lab.exec(this.get(from).ns, ['dig', `@${this.get(from).overlay}`, '+time=2', '+tries=1', '+noall', '+answer', '+comments', name]);
    const answer = out.split('\n').find((l) => /\sIN\s+A\s/.test(l));
    return answer ? answer.trim().split(/\s+/).pop()! : /status: (\w+)/.exec(out)?.[1] ?? out;
  }

  /** CPU seconds the relay's agent process used so far (user + system, from /proc). */
  relayCpuSeconds(): number {
    const agent = this.get('relay-1').process;
    return cpuSecondsOfTree(agent.pid);
  }

  async relayEvents(): Promise<string[]> {
    const page = await this.api.expect<{ items: Array<{ type: string }> }>(200, 'GET', '/api/v1/audit?limit=200');
    return page.items.map((e) => e.type).filter((t) => t.startsWith('RelayPath'));
  }

  /** The live interfaces and firewalls, for failure messages. */
  async diagnostics(): Promise<string> {
    const out: string[] = [];
    for (const a of this.agents.values()) {
      out.push(`--- ${a.name} wg`, await this.lab.exec(a.ns, ['wg', 'show', a.ifname]).catch((e) => String(e)));
      out.push(`--- ${a.name} addresses`, await this.lab.exec(a.ns, ['ip', '-br', 'addr']).catch((e) => String(e)));
      out.push(`--- ${a.name} routes`, await this.lab.exec(a.ns, ['ip', 'route']).catch((e) => String(e)));
    }
    return out.join('\n');
  }

  tails(): string {
    return [...this.agents.values()].map((a) => `--- ${a.name}\n${a.process.tail(12)}`).join('\n') + `\n--- cp\n${this.cp.tail(8)}`;
  }
}

/** CPU seconds of a process and its descendants (the agent runs under `ip netns exec`). */
function cpuSecondsOfTree(root: number): number {
  const { readFileSync } = require('node:fs') as typeof import('node:fs');
  const tick = 100;
  const stat = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const ppid = Number(stat(Number(entry))[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch { /* gone meanwhile */ }
  }
  let total = 0;
  const walk = (pid: number) => {
    try {
      const s = stat(pid);
      total += (Number(s[11]) + Number(s[12])) / tick;
    } catch { /* gone */ }
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return total;
}

const figures: string[] = [];
const record = (line: string) => {
  figures.push(line);
  process.stdout.write(`${line}\n`);
};

async function scenario(mode: NatMode, body: (t: TraversalLab) => Promise<void>): Promise<void> {
  const lab = await createNatLab({ natMode: mode });
  const t = new TraversalLab(lab);
  try {
    await t.start();
    await t.agent('relay-1', lab.relay.ns, `${lab.relay.address}:51820`);
    await t.agent('web-1', lab.a.home, null);
    await t.agent('db-1', lab.b.home, null);
    await body(t);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await t.diagnostics()}\n${t.tails()}`);
  } finally {
    await lab.destroy();
  }
}

describe('NAT traversal, relay and names in network namespaces', () => {
  beforeAll(() => assertNatLabPrerequisites());
  afterAll(() => {
    mkdirSync(ARTIFACTS, { recursive: true });
    appendFileSync(join(ARTIFACTS, 'nat-traversal.txt'), `${new Date().toISOString()}\n${figures.join('\n')}\n`);
  });

  it('behind NATs that keep ports, the homes connect directly: the relay forwards nothing', async () => {
    await scenario('port-preserving', async (t) => {
      const direct = await t.timeToFirstPacket('web-1', 'db-1', 60_000);
      record(`direct: time to first packet ${direct} ms (from the third agent online)`);
      expect(await t.endpointOf('web-1', 'db-1')).toBe(`${t.lab.b.wanAddress}:51820`);
      const before = await t.relayForwardedBytes();
      const mbit = await t.iperf('web-1', 'db-1');
      expect(await t.canPing('db-1', 'web-1')).toBe(true);
      expect(await t.relayForwardedBytes()).toBe(before);
      expect(await t.relayEvents()).toEqual([]);
      record(`direct: iperf3 ${mbit.toFixed(0)} Mbit/s`);
      // Policy: the denied port stays closed; names follow the policy.
      expect(await t.tcpOpens('web-1', 'db-1', 7000)).toBe(false);
      expect(await t.tcpOpens('web-1', 'db-1', 7001)).toBe(true);
      expect(await t.dig('web-1', 'db-1.acme-homes.mesh')).toBe(t.get('db-1').overlay);
      expect(await t.dig('web-1', 'web-1.acme-homes.mesh')).toBe(t.get('web-1').overlay);
      expect(await t.dig('relay-1', 'db-1.acme-homes.mesh')).toBe('NXDOMAIN');
    });
  });

  it('behind NATs that randomise ports, the homes connect through the relay, which holds no key of theirs', async () => {
    await scenario('random', async (t) => {
      const relayed = await t.timeToFirstPacket('web-1', 'db-1', 90_000);
      record(`relayed: time to first packet ${relayed} ms (from the third agent online)`);
      expect(await t.endpointOf('web-1', 'db-1')).toMatch(new RegExp(`^${t.lab.relay.address.replace(/\./g, '\\.')}:4\\d{4}$`));
      expect(await t.relayEvents()).toContain('RelayPathOpened');
      const bytesBefore = await t.relayForwardedBytes();
      const cpuBefore = t.relayCpuSeconds();
      const mbit = await t.iperf('web-1', 'db-1');
      const cpu = t.relayCpuSeconds() - cpuBefore;
      const forwarded = (await t.relayForwardedBytes()) - bytesBefore;
      expect(forwarded).toBeGreaterThan(1_000_000);
      record(`relayed: iperf3 ${mbit.toFixed(0)} Mbit/s; relay forwarded ${(forwarded / 1e6).toFixed(1)} MB using ${cpu.toFixed(2)} CPU s`
        + ` (${((cpu / 3) / Math.max(mbit, 1) * 1000).toFixed(2)} ms of CPU per second per Mbit/s)`);
      // The relay is no WireGuard peer of either home: no key of theirs, no peer on its interface.
      const relay = t.get('relay-1');
      expect((await t.lab.exec(relay.ns, ['wg', 'show', relay.ifname, 'peers'])).trim()).toBe('');
      // Policy across the relay; names.
      expect(await t.tcpOpens('web-1', 'db-1', 7000)).toBe(false);
      expect(await t.tcpOpens('web-1', 'db-1', 7001)).toBe(true);
      expect(await t.dig('web-1', 'db-1.acme-homes.mesh')).toBe(t.get('db-1').overlay);
      expect(await t.dig('relay-1', 'db-1.acme-homes.mesh')).toBe('NXDOMAIN');
      // The NATs forget every mapping: the path comes back within 30 s.
      await t.lab.flushNat();
      const t0 = Date.now();
      await waitFor(() => t.canPing('web-1', 'db-1'), 30_000, () => 'no path within 30 s of the NAT flush', 200);
      record(`relayed: path back ${Date.now() - t0} ms after the NAT mappings were flushed`);
      // The NATs start keeping ports: the agents' periodic probes find the direct path, move to it and give the
      // relay path up; the relay then forwards nothing more.
      await t.lab.setNatMode('port-preserving');
      const t1 = Date.now();
      await waitFor(async () => (await t.endpointOf('web-1', 'db-1')) === `${t.lab.b.wanAddress}:51820`
        && (await t.endpointOf('db-1', 'web-1')) === `${t.lab.a.wanAddress}:51820`, 120_000, () => 'never moved back to the direct path', 500);
      record(`relayed → direct: ${Date.now() - t1} ms after the NATs began keeping ports`);
      await waitFor(async () => (await t.relayEvents()).includes('RelayPathClosed'), 30_000, () => 'the relay path was never given up', 500);
      // The relay drops the path when it applies its next config: a packet already on the way (a keepalive) may still
      // pass until then. Settled is two readings 2 s apart that agree.
      let settled = -1;
      await waitFor(async () => {
        const now = await t.relayForwardedBytes();
        const still = now === settled;
        settled = now;
        return still;
      }, 30_000, () => 'the relay kept forwarding after the relay path was given up', 2_000);
      await t.iperf('web-1', 'db-1', 2);
      expect(await t.relayForwardedBytes()).toBe(settled);
    });
  });
});
