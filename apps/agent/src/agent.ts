import { applyPatch, type ConfigPatch, type NodeConfig } from './contracts';
import type { AgentConfig } from './agent-config';
import { ConfigError } from './agent-config';
import { Backoff } from './control-plane/backoff';
import { ConfigStream, sleep } from './control-plane/config-stream';
import { connectionFailure, ControlPlaneClient, controlPlaneClientFor, HttpError } from './control-plane/control-plane-client';
import { heartbeatFrom } from './heartbeat';
import { InsecureStateError, StateStore, type NodeIdentity } from './identity/state-store';
import type { Logger } from './logger';
import { LinuxEnforcement } from './enforcement/linux-enforcement';
import type { EnforcementPort } from './enforcement/enforcement-port';
import { AgentMetrics } from './metrics/agent-metrics';
import { MetricsServer } from './metrics/metrics-server';
import { MeshServices } from './mesh-services/mesh-services';
import { normalizeNodeConfig } from './node-config';
import { Reconciler } from './reconciler/reconciler';
import { StatusRecorder } from './status/agent-status';
import { AGENT_VERSION } from './version';
import { runCommand } from './wireguard/command-runner';
import { LinuxWireGuard } from './wireguard/linux-wireguard';
import type { LiveInterface, WireGuardPort } from './wireguard/wireguard-port';

/** Registration was refused for a reason retrying will not fix (bad key, name taken, key already registered). */
export class RegistrationError extends Error {}

export interface AgentOptions {
  config: AgentConfig;
  downOnExit: boolean;
  logger: Logger;
  client?: ControlPlaneClient;
  /** Builds the platform adapter; the Linux one by default. */
  wireGuard?: (privateKeyPath: string) => WireGuardPort;
  /** Builds the policy enforcement adapter for the interface; the Linux one by default. */
  enforcement?: (interfaceName: string) => EnforcementPort;
  /** Rotate the node key once started (`--rotate-key`). */
  rotateKey?: boolean;
  /** The clock the key's expiry is compared with (tests). */
  now?: () => number;
}

/**
 * The daemon: identity, registration, then three loops — the config stream (desired state), the drift check
 * (live state) and the heartbeat — all feeding one reconciler.
 */
export class Agent {
  private readonly stopController = new AbortController();
  private readonly client: ControlPlaneClient;
  private readonly log: Logger;
  private desired: NodeConfig | null = null;
  private identity: NodeIdentity | null = null;
  private port: WireGuardPort | null = null;
  private enforcement: EnforcementPort | null = null;
  private reconciler: Reconciler | null = null;
  private stream: ConfigStream | null = null;
  private readonly timers = new Set<NodeJS.Timeout>();
  private heartbeatRunning = false;
  private store: StateStore | null = null;
  private rotating: Promise<void> | null = null;
  /** Saves of the applied config, chained so they land in order and stop() can wait for the last one. */
  private saving: Promise<void> = Promise.resolve();
  /** `state_dir/status.json`, for `meshgate-agent status`. */
  private status: StatusRecorder | null = null;
  /** `/metrics` on 127.0.0.1:metrics_port, when configured. */
  private metricsServer: MetricsServer | null = null;
  /** Names, paths and relaying beside the interface (with the Linux adapter). */
  private services: MeshServices | null = null;

  constructor(private readonly options: AgentOptions) {
    this.log = options.logger;
    this.client = options.client
      ?? controlPlaneClientFor(options.config, this.log.child({ component: 'control-plane' }));
  }

  get nodeId(): string | null {
    return this.identity?.nodeId ?? null;
  }

  async start(): Promise<void> {
    const { config } = this.options;
    const store = new StateStore(config.stateDir);
    this.store = store;
    const loaded = await store.loadOrCreateKey();
    let publicKey = loaded.publicKey;
    if (loaded.created) this.log.info('generated a new key pair', { publicKey, stateDir: config.stateDir });
    // A rotation interrupted after the control plane accepted the key and node.json recorded it: finish it.
    const pending = await store.pendingNextKey();
    if (pending !== null && (await store.loadIdentity())?.publicKey === pending) {
      await store.promoteNextKey();
      publicKey = pending;
      this.log.info('finished an interrupted key rotation', { publicKey });
    }
    const identity = await this.loadOrRegister(store, publicKey);
    if (identity === null) return;
    this.identity = identity;
    this.status = new StatusRecorder(config.stateDir, {
      agentVersion: AGENT_VERSION,
      node: { id: identity.nodeId, name: config.nodeName, address: identity.address, publicKey, interface: config.interfaceName },
      controlPlaneUrls: config.controlPlaneUrls,
    });
    this.desired = await store.loadConfig();
    this.log.info('agent starting', {
      nodeId: identity.nodeId, name: config.nodeName, publicKey, address: identity.address,
      interface: config.interfaceName, restoredVersion: this.desired?.version ?? null,
    });

    const port = this.options.wireGuard?.(store.privateKeyPath)
      ?? new LinuxWireGuard({ interfaceName: config.interfaceName, privateKeyPath: store.privateKeyPath, logger: this.log });
    this.port = port;
    // Linux enforcement goes with the Linux WireGuard adapter; another platform adapter brings its own (or none).
    this.enforcement = this.options.enforcement?.(config.interfaceName)
      ?? (this.options.wireGuard ? null : new LinuxEnforcement({ interfaceName: config.interfaceName, logger: this.log }));
    const reconciler = new Reconciler(port, publicKey, () => this.desired, this.log, this.enforcement ?? undefined);
    this.reconciler = reconciler;
    if (!this.options.wireGuard) {
      const services = new MeshServices({
        interfaceName: config.interfaceName, listenPort: config.listenPort, wireguard: port, run: runCommand, logger: this.log,
        requestRelay: async (peer) => void (await this.client.requestRelayPath(identity.nodeId, this.identity!.nodeToken, peer)),
        releaseRelay: (peer) => this.client.releaseRelayPath(identity.nodeId, this.identity!.nodeToken, peer),
      });
      this.services = services;
      // Each new config, and the interface coming back (its address, which the DNS server binds, came back with it).
      let followed: number | null = null;
      reconciler.onApplied(({ config: applied, recreated }) => {
        if (applied === null || (applied.version === followed && !recreated)) return;
        followed = applied.version;
        void services.applied(applied);
      });
    }
    if (config.metricsPort !== null) {
      const metrics = new AgentMetrics(AGENT_VERSION);
      const services = this.services;
      if (services) metrics.attachRelay(() => services.relayStats());
      reconciler.onApplied((outcome) => metrics.applied(outcome));
      reconciler.onFailed(() => metrics.failed());
      this.metricsServer = new MetricsServer(metrics, config.metricsPort);
      await this.metricsServer.start();
      this.log.info('serving metrics', { url: `http://127.0.0.1:${config.metricsPort}/metrics` });
    }
    let savedVersion = this.desired?.version ?? null;
    reconciler.onApplied(({ config: applied, recreated }) => {
      if (recreated) this.log.warn('interface was recreated and restored', { version: applied?.version ?? null });
      if (applied !== null) void this.status?.configApplied(applied);
      if (applied === null || applied.version === savedVersion) return;
      savedVersion = applied.version;
      this.log.info('config live', { version: applied.version, peers: applied.peers.length });
      this.saving = this.saving
        .then(() => store.saveConfig(applied))
        .catch((err) => this.log.error('could not save the applied config', { err }));
    });
    await reconciler.request('start');

    this.stream = new ConfigStream({
      client: this.client,
      nodeId: identity.nodeId,
      nodeToken: identity.nodeToken,
      currentVersion: () => this.desired?.version ?? null,
      handlers: { onConfig: (c) => this.onConfig(c), onPatch: (p) => this.onPatch(p) },
      logger: this.log.child({ component: 'config-stream' }),
    });
    this.stream.start();
    this.every(config.reconcileInterval, () => reconciler.request('drift-check'));
    this.every(config.heartbeatInterval, async () => {
      await this.heartbeat();
      this.checkKeyExpiry();
    });
    // A key made for a rotation that did not finish (the control plane may or may not have it): offer it again.
    if (this.options.rotateKey || (await store.pendingNextKey()) !== null) void this.rotateKey(this.options.rotateKey ? 'requested' : 'resumed');
  }

  /**
   * Replaces the node's WireGuard key without touching the interface otherwise: a new private key is written (0600)
   * beside the current one, the control plane is told its public key (which patches every peer's config), then the
   * new key becomes the key file and is set on the live interface (`wg set private-key`). A crash at any step is
   * finished or retried with the same key at the next start. Concurrent requests share one rotation.
   */
  rotateKey(reason: string): Promise<void> {
    this.rotating ??= this.rotate(reason)
      .catch((err) => this.log.error('key rotation failed; will retry', { reason, err }))
      .finally(() => {
        this.rotating = null;
      });
    return this.rotating;
  }

  private async rotate(reason: string): Promise<void> {
    const store = this.store;
    const identity = this.identity;
    if (store === null || identity === null || this.stopController.signal.aborted) return;
    const { publicKey } = await store.loadOrCreateNextKey();
    this.log.info('rotating the node key', { reason, publicKey });
    try {
      await this.client.rotateKey(identity.nodeId, identity.nodeToken, publicKey);
    } catch (err) {
      // Taken by another node (or refused outright): that key is useless, the next attempt makes another.
      if (err instanceof HttpError && err.status >= 400 && err.status < 500) await store.discardNextKey();
      throw err;
    }
    const rotated = { ...identity, publicKey };
    await store.saveIdentity(rotated);
    await store.promoteNextKey();
    this.identity = rotated;
    this.reconciler?.setOwnPublicKey(publicKey);
    void this.status?.keyRotated(publicKey);
    await this.reconciler?.request('key-rotated');
    this.log.info('node key rotated', { publicKey, previous: identity.publicKey });
  }

  /**
   * Rotates before the key expires: `key_rotation_margin` ahead of `expiresAt`, or at half the key's lifetime when
   * that is shorter (a tenant expiry shorter than the margin must not make the agent rotate on every config), and at
   * once when the control plane says it expired.
   */
  private checkKeyExpiry(): void {
    const key = this.desired?.key;
    if (!key || this.rotating || (!key.expired && key.expiresAt === null)) return;
    if (key.expired) {
      void this.rotateKey('key expired');
      return;
    }
    const expiresAt = Date.parse(key.expiresAt!);
    const lifetime = expiresAt - Date.parse(key.issuedAt);
    const margin = Math.min(this.options.config.keyRotationMargin * 1000, Number.isFinite(lifetime) ? lifetime / 2 : Infinity);
    if ((this.options.now ?? Date.now)() >= expiresAt - margin) void this.rotateKey('key expires soon');
  }

  /** Stops the loops; keeps the interface (and so the mesh) unless asked to take it down. */
  async stop(): Promise<void> {
    this.stopController.abort();
    await this.rotating;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.stream?.stop();
    await this.reconciler?.idle();
    await this.saving;
    await this.status?.idle();
    await this.metricsServer?.stop();
    await this.services?.stop();
    if (this.options.downOnExit && this.port) {
      // The table and qdisc first: the qdisc goes with the interface, the table would outlive it.
      await this.enforcement?.destroy().catch((err) => this.log.error('could not remove the policy enforcement', { err }));
      await this.port.destroy();
      this.log.info('interface removed', { interface: this.port.interfaceName });
    }
  }

  private onConfig(config: NodeConfig): void {
    this.log.info('received config', { version: config.version, peers: config.peers.length });
    this.desired = normalizeNodeConfig(config);
    void this.reconciler?.request('config');
    this.checkKeyExpiry();
  }

  private async onPatch(patch: ConfigPatch): Promise<void> {
    const current = this.desired;
    if (current !== null && patch.version <= current.version) return;
    if (current !== null && current.version === patch.baseVersion) {
      this.log.info('received patch', { version: patch.version, upserted: patch.peersUpserted.length, removed: patch.peersRemoved.length });
      this.desired = applyPatch(current, patch);
      void this.reconciler?.request('patch');
      this.checkKeyExpiry();
      return;
    }
    this.log.warn('patch does not follow the config held, fetching the full config', {
      held: current?.version ?? null, baseVersion: patch.baseVersion,
    });
    try {
      const { nodeId, nodeToken } = this.identity!;
      this.onConfig(await this.client.getConfig(nodeId, nodeToken));
    } catch (err) {
      // Reconnecting with our (older) Last-Event-ID makes the stream send the full config instead.
      this.log.error('could not fetch the full config, reconnecting the stream', { err });
      this.stream?.reconnect();
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.heartbeatRunning || !this.identity || !this.port) return;
    this.heartbeatRunning = true;
    let live: LiveInterface | null = null;
    try {
      live = await this.port.read().catch(() => null);
      const candidates = await this.services?.findCandidates().catch((err) => {
        this.log.warn('could not find candidate endpoints', { err });
        return undefined;
      });
      await this.client.heartbeat(this.identity.nodeId, this.identity.nodeToken, heartbeatFrom(live, this.options.config.endpoint, candidates));
      void this.status?.heartbeatSent(live, null, this.peerPaths());
    } catch (err) {
      void this.status?.heartbeatSent(live, err, this.peerPaths());
      if (err instanceof HttpError && err.status === 401) {
        this.log.error('heartbeat rejected: node token revoked (node removed?); keeping the last config', { status: 401 });
      } else {
        this.log.warn('heartbeat failed', { err });
        if (!(err instanceof HttpError) && connectionFailure(err) !== null) this.stream?.linkFailed();
      }
    } finally {
      this.heartbeatRunning = false;
    }
  }

  private peerPaths(): Map<string, string> {
    return new Map((this.services?.peerPaths() ?? []).map((p) => [p.publicKey, p.state]));
  }

  private async loadOrRegister(store: StateStore, publicKey: string): Promise<NodeIdentity | null> {
    const existing = await store.loadIdentity();
    if (existing !== null) {
      if (existing.publicKey !== publicKey) {
        throw new InsecureStateError(
          `${store.dir}/node.json belongs to another key than ${store.privateKeyPath}; remove node.json to register anew`,
        );
      }
      return existing;
    }
    const { config } = this.options;
    if (config.authToken === null) throw new ConfigError('auth_token', 'is required for the first registration');
    const backoff = new Backoff(1000, 30_000);
    while (!this.stopController.signal.aborted) {
      try {
        const node = await this.client.register(config.authToken, {
          name: config.nodeName,
          publicKey,
          ...(config.endpoint !== null ? { endpoint: config.endpoint } : {}),
          listenPort: config.listenPort,
          ...(config.tags.length > 0 ? { tags: config.tags } : {}),
          ...(config.advertiseRoutes.length > 0 ? { advertiseRoutes: config.advertiseRoutes } : {}),
          ...(config.exitNode !== null ? { exitNode: config.exitNode } : {}),
        });
        const identity = { nodeId: node.id, nodeToken: node.nodeToken, publicKey, address: node.address };
        await store.saveIdentity(identity);
        this.log.info('registered with the control plane', { nodeId: node.id, address: node.address });
        return identity;
      } catch (err) {
        if (err instanceof HttpError && err.status >= 400 && err.status < 500) {
          throw new RegistrationError(`registration refused: ${err.message}`);
        }
        const delay = backoff.next();
        this.log.warn('control plane unreachable for registration, retrying', { err, inMs: delay });
        await sleep(delay, this.stopController.signal);
      }
    }
    return null;
  }

  /** Runs `task` every `seconds`, never overlapping itself. */
  private every(seconds: number, task: () => Promise<void>): void {
    const schedule = () => {
      if (this.stopController.signal.aborted) return;
      const timer = setTimeout(async () => {
        this.timers.delete(timer);
        await task().catch((err) => this.log.error('periodic task failed', { err }));
        schedule();
      }, seconds * 1000);
      this.timers.add(timer);
    };
    schedule();
  }
}
