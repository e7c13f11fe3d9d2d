import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AdminApi } from './admin-api';
import { ControlPlaneProcess, HUB_ADDRESS } from './control-plane-process';
import { ManagedProcess } from './managed-process';
import { inNs, NamespaceSet, sh } from './netns';
import { assertNetworkTestPrerequisites } from './preflight';

export { sleep, waitFor } from './wait';

const ROOT = resolve(__dirname, '../../../..');
export const CONTROL_PLANE_MAIN = join(ROOT, 'dist/apps/control-plane/main.js');
export const AGENT_MAIN = join(ROOT, 'dist/apps/agent/main.js');
const CONTROL_PLANE_PORT = 8080;

export interface LabNode {
  name: string;
  ns: string;
  ifname: string;
  underlay: string;
  configPath: string;
  stateDir: string;
  agent: ManagedProcess | null;
  starts: number;
  /** Filled in once the node has registered. */
  id?: string;
  overlay?: string;
}

/**
 * A small real network: a hub namespace with a bridge (the underlay, 198.18.0.0/24 out of 198.18.0.0/15) where the
 * control plane runs, and one namespace per node plugged into it by a veth, each running a real agent that drives
 * a real wireguard-go. Everything it creates is removed by teardown(), or on exit if the test process dies.
 */
export class MeshLab {
  readonly tag = `mgt${process.pid % 1000}`;
  readonly hub = `${this.tag}hub`;
  readonly dir = mkdtempSync(join(tmpdir(), 'mg-mesh-e2e-'));
  readonly nodes = new Map<string, LabNode>();
  /** Every control-plane process of the lab (stopped by teardown): the standalone one, and any a spec added. */
  private readonly controlPlanes: ControlPlaneProcess[] = [];
  private readonly extra: ManagedProcess[] = [];
  private readonly namespaces = new NamespaceSet();
  private readonly jwtSecret = randomBytes(32).toString('hex');
  /** The SQLite control plane of startControlPlane(). */
  private readonly standalone = this.addControlPlane('control-plane', CONTROL_PLANE_PORT);
  /** Where the lab's admin calls (bootstrapTenant, putPolicy) go: the standalone control plane unless a spec says. */
  api: AdminApi = this.standalone.api;

  static preflight(): void {
    assertNetworkTestPrerequisites();
    for (const [what, path] of [['control plane', CONTROL_PLANE_MAIN], ['agent', AGENT_MAIN]]) {
      if (!existsSync(path)) throw new Error(`the ${what} is not built (${path} missing): run npm run build first`);
    }
  }

  /** What writeAgentConfig gives the agents unless told otherwise. */
  get controlPlaneUrl(): string {
    return this.standalone.url;
  }

  /**
   * A control plane of the spec's own in the hub (e.g. one replica of several on PostgreSQL), on its own port, not
   * started yet; start(env) it with controlPlaneEnv(...). Teardown stops it, and tails() shows its log.
   */
  addControlPlane(label: string, port: number): ControlPlaneProcess {
    const controlPlane = new ControlPlaneProcess({ label, ns: this.hub, port, dir: this.dir, main: CONTROL_PLANE_MAIN });
    this.controlPlanes.push(controlPlane);
    return controlPlane;
  }

  /** The environment every lab control plane gets (one JWT secret for all, so a token works on every replica). */
  controlPlaneEnv(env: Record<string, string> = {}): Record<string, string> {
    return {
      DATABASE_PATH: join(this.dir, 'db', 'meshgate.sqlite'),
      JWT_SECRET: this.jwtSecret,
      HEARTBEAT_INTERVAL_SECONDS: '2',
      AUTH_RATE_LIMIT: '100000',
      REGISTRATION: 'open', // labs register several users
      ...env,
    };
  }

  async createNetwork(names: string[]): Promise<void> {
    await this.namespaces.add(this.hub);
    await sh('ip', ['-n', this.hub, 'link', 'add', 'br0', 'type', 'bridge']);
    await sh('ip', ['-n', this.hub, 'address', 'add', `${HUB_ADDRESS}/24`, 'dev', 'br0']);
    await sh('ip', ['-n', this.hub, 'link', 'set', 'br0', 'up']);
    for (const [i, name] of names.entries()) {
      const node: LabNode = {
        name,
        ns: `${this.tag}${name}`,
        ifname: `${this.tag}${name}`,
        underlay: `198.18.0.${11 + i}`,
        configPath: join(this.dir, `${name}.json`),
        stateDir: join(this.dir, `${name}-state`),
        agent: null,
        starts: 0,
      };
      await this.namespaces.add(node.ns);
      this.namespaces.trackWireGuard(node.ifname);
      await sh('ip', ['-n', this.hub, 'link', 'add', `v${name}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.ns]);
      await sh('ip', ['-n', this.hub, 'link', 'set', `v${name}`, 'master', 'br0', 'up']);
      await sh('ip', ['-n', node.ns, 'address', 'add', `${node.underlay}/24`, 'dev', 'eth0']);
      await sh('ip', ['-n', node.ns, 'link', 'set', 'eth0', 'up']);
      this.nodes.set(name, node);
    }
  }

  /**
   * A LAN only `router` can reach: a further namespace on its own veth link (this kernel has no dummy interfaces),
   * `lan.2` inside, `lan.1` on the router. The LAN host gets no route back to the overlay.
   */
  async addLan(router: string, lanPrefix24: string): Promise<string> {
    const ns = `${this.tag}lan`;
    await this.namespaces.add(ns);
    const r = this.node(router);
    await sh('ip', ['-n', r.ns, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await sh('ip', ['-n', r.ns, 'address', 'add', `${lanPrefix24}.1/24`, 'dev', 'lan0']);
    await sh('ip', ['-n', r.ns, 'link', 'set', 'lan0', 'up']);
    await sh('ip', ['-n', ns, 'address', 'add', `${lanPrefix24}.2/24`, 'dev', 'eth0']);
    await sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A process inside a namespace, stopped by teardown. */
  spawnIn(ns: string, label: string, file: string, args: string[]): ManagedProcess {
    const process_ = new ManagedProcess(label, join(this.dir, `${label}.log`), 'ip', ['netns', 'exec', ns, file, ...args], { PATH: process.env.PATH });
    this.extra.push(process_);
    return process_;
  }

  async startControlPlane(env: Record<string, string> = {}): Promise<void> {
    await this.standalone.start(this.controlPlaneEnv(env));
  }

  async killControlPlane(): Promise<void> {
    await this.standalone.kill();
  }

  /** Registers an admin, makes a tenant and returns a reusable enrollment key; leaves api.token tenant-scoped. */
  async bootstrapTenant(): Promise<string> {
    const email = 'admin@mesh.test';
    const password = 'correct-horse-battery';
    await this.api.expect(201, 'POST', '/api/v1/auth/register', { email, password });
    this.api.token = (await this.api.expect(200, 'POST', '/api/v1/auth/login', { email, password })).accessToken;
    const tenant = await this.api.call('POST', '/api/v1/auth/tenants', { name: 'lab' });
    if (tenant.status !== 201 && tenant.status !== 200) throw new Error(`create tenant: ${tenant.status} ${JSON.stringify(tenant.body)}`);
    this.api.token = (await this.api.expect(200, 'POST', '/api/v1/auth/login', { email, password, tenantId: tenant.body.id })).accessToken;
    const key = await this.api.call('POST', '/api/v1/enrollment-keys', { reusable: true });
    if (key.status !== 201 && key.status !== 200) throw new Error(`create enrollment key: ${key.status} ${JSON.stringify(key.body)}`);
    return key.body.key;
  }

  /** PUTs `{acls}`, or a whole policy document (through `api`: the lab's by default); returns the new version. */
  async putPolicy(policy: Array<{ action: 'accept' | 'deny'; src: string[]; dst: string[] }> | Record<string, unknown>, api = this.api): Promise<number> {
    const res = await api.call('PUT', '/api/v1/policies', Array.isArray(policy) ? { acls: policy } : policy);
    if (res.status !== 200) throw new Error(`PUT policy: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.version;
  }

  /** Short intervals by default so the tests see heartbeats and drift repair quickly; one URL per replica, in order. */
  writeAgentConfig(name: string, enrollmentKey: string, intervals = { heartbeat: 1, reconcile: 1 }, controlPlaneUrls = [this.controlPlaneUrl]): void {
    const node = this.node(name);
    writeFileSync(node.configPath, JSON.stringify({
      ...(controlPlaneUrls.length === 1 ? { control_plane_url: controlPlaneUrls[0] } : { control_plane_urls: controlPlaneUrls }),
      auth_token: enrollmentKey,
      interface_name: node.ifname,
      node_name: name,
      endpoint: `${node.underlay}:51820`,
      listen_port: 51820,
      heartbeat_interval: intervals.heartbeat,
      reconcile_interval: intervals.reconcile,
      state_dir: node.stateDir,
    }), { mode: 0o600 });
  }

  /** Starts the node's agent; each start logs to its own file so that log checks see only this run. */
  startAgent(name: string, extraArgs: string[] = []): ManagedProcess {
    const node = this.node(name);
    node.starts++;
    node.agent = new ManagedProcess(`agent ${name}`, join(this.dir, `${name}-${node.starts}.log`), 'ip',
      ['netns', 'exec', node.ns, process.execPath, AGENT_MAIN, '--config', node.configPath, ...extraArgs],
      { PATH: process.env.PATH });
    return node.agent;
  }

  node(name: string): LabNode {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no lab node ${name}`);
    return node;
  }

  /** Public keys of the peers on the node's live interface (the wireguard-go socket is visible from here). */
  async peers(name: string): Promise<string[]> {
    try {
      return (await sh('wg', ['show', this.node(name).ifname, 'peers'])).split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }

  /** Runs a command (from the test process, in the host's namespace unless it says `ip -n`/`ip netns`). */
  sh(file: string, args: string[]): Promise<string> {
    return sh(file, args);
  }

  async publicKey(name: string): Promise<string> {
    return (await sh('wg', ['show', this.node(name).ifname, 'public-key'])).trim();
  }

  /** Pings over the overlay from one node to another; resolves with ping's output, rejects when replies are missing. */
  ping(from: string, to: string, args: string[] = ['-c', '1', '-W', '2']): Promise<string> {
    return inNs(this.node(from).ns, 'ping', ['-n', ...args, this.node(to).overlay!], 60_000);
  }

  async canPing(from: string, to: string): Promise<boolean> {
    return this.ping(from, to, ['-c', '1', '-W', '1']).then(() => true, () => false);
  }

  /** The lab's view of the logs, for failure messages. */
  tails(): string {
    return [...this.nodes.values()].map((n) => `--- ${n.name}\n${n.agent?.tail(8) ?? '(not started)'}`).join('\n')
      + this.controlPlanes.filter((c) => c.process !== null).map((c) => `\n--- ${c.label}\n${c.tail(8)}`).join('');
  }

  async teardown(): Promise<void> {
    await Promise.all(this.extra.map((p) => p.stop('SIGKILL', 2_000)));
    await Promise.all([...this.nodes.values()].map((n) => n.agent?.stop('SIGTERM', 5_000)));
    await Promise.all(this.controlPlanes.map((c) => c.stop()));
    this.namespaces.teardownSync();
    if (process.env.KEEP_E2E_LOGS) process.stdout.write(`e2e logs kept in ${this.dir}\n`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}
