import type { NodeConfig } from '../contracts';
import { createLogger, type Logger } from '../logger';
import type { PlanStep, WireGuardPort } from '../wireguard/wireguard-port';
import { PathSelector, type PathTimings, type PeerPath } from './path-selector';

export interface PathManagerDeps {
  wireguard: WireGuardPort;
  /** Asks the control plane to relay the path to this peer (idempotent). */
  requestRelay(publicKey: string): Promise<void>;
  /** Tells the control plane the relay path to this peer is no longer needed. */
  releaseRelay(publicKey: string): Promise<void>;
  /** Milliseconds; Date.now by default. */
  now?: () => number;
  logger?: Logger;
  timings?: Partial<PathTimings>;
}

/**
 * Drives the PathSelector: each tick reads the live peers, lets the selector choose, writes the chosen endpoints
 * (`set-endpoint`, then `send-keepalive` so the new path carries a packet at once) and sends relay requests and
 * releases. What fails is kept and retried on the next tick, endpoint writes before the live read so the selector
 * judges the state it chose.
 */
export class PathManager {
  private readonly selector: PathSelector;
  private readonly now: () => number;
  private readonly log: Logger;
  private config: NodeConfig | null = null;
  /** Endpoint writes not yet applied, by peer. */
  private readonly endpoints = new Map<string, string>();
  /** Keepalives not yet sent, by peer: the peer's persistent keepalive interval to restore. */
  private readonly keepalives = new Map<string, number>();
  /** Relay requests and releases not yet sent, by peer (a newer one replaces an older one). */
  private readonly relay = new Map<string, 'request' | 'release'>();
  /** Relay actions that failed last time, so a failure streak is warned about once. */
  private readonly failing = new Set<string>();
  private states = new Map<string, PeerPath['state']>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly deps: PathManagerDeps) {
    this.selector = new PathSelector(deps.timings);
    this.now = deps.now ?? Date.now;
    this.log = deps.logger ?? createLogger().child({ component: 'paths' });
  }

  /** The config the reconciler applies: the peers, their candidates and the relay paths. */
  update(config: NodeConfig): void {
    this.config = config;
  }

  async tick(): Promise<void> {
    const config = this.config;
    if (config === null) return;
    const known = new Set(config.peers.map((p) => p.publicKey));
    for (const pending of [this.endpoints, this.keepalives, this.relay]) for (const key of pending.keys()) if (!known.has(key)) pending.delete(key);
    const retried = await this.writeEndpoints();
    if (retried === null) return;
    const live = await this.deps.wireguard.read();
    if (live === null) return;
    this.selector.rebase(live.peers, retried, this.now());
    const out = this.selector.step({
      now: this.now(),
      peers: config.peers.map((p) => ({ publicKey: p.publicKey, candidates: p.candidates ?? [], endpoint: p.endpoint })),
      relayPaths: config.relayPaths ?? [],
      live: live.peers,
    });
    this.logTransitions();
    const onInterface = new Map(live.peers.map((p) => [p.publicKey, p]));
    // `wg set … peer K endpoint E` would create a peer the reconciler removed meanwhile; only live peers are steered.
    for (const change of out.endpoints) if (onInterface.has(change.publicKey)) this.endpoints.set(change.publicKey, change.endpoint);
    for (const key of out.keepalives) {
      // Without persistent keepalive there is no interval to turn back on; such a peer waits for its own traffic.
      const interval = onInterface.get(key)?.persistentKeepalive ?? 0;
      if (interval > 0) this.keepalives.set(key, interval);
    }
    for (const action of out.relay) this.relay.set(action.publicKey, action.action);
    const written = await this.writeEndpoints();
    if (written !== null && written.length > 0) {
      // What arrived between the read above and the write came on the old path (the write undid its roam): a path
      // just written is judged by what it carries from here on.
      const after = await this.deps.wireguard.read();
      if (after !== null) this.selector.rebase(after.peers, written, this.now());
    }
    await this.sendRelay();
  }

  /** Ticks every `intervalMs` (a tick still running is not overlapped). */
  start(intervalMs = 1000): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => {
      if (this.running !== null) return;
      this.running = this.tick()
        .catch((err: unknown) => this.log.warn('path tick failed', { err }))
        .finally(() => {
          this.running = null;
        });
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops ticking and waits for a tick in flight. */
  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Each peer's path, for the status file and metrics. */
  paths(): PeerPath[] {
    return this.selector.paths();
  }

  /**
   * Applies the pending endpoint writes and keepalives in one call: the peers whose endpoint it wrote, or null (kept
   * for the next tick) when it failed.
   */
  private async writeEndpoints(): Promise<string[] | null> {
    if (this.endpoints.size === 0 && this.keepalives.size === 0) return [];
    const steps: PlanStep[] = [
      ...[...this.endpoints].map(([publicKey, endpoint]) => ({ kind: 'set-endpoint' as const, publicKey, endpoint })),
      ...[...this.keepalives].map(([publicKey, persistentKeepalive]) => ({ kind: 'send-keepalive' as const, publicKey, persistentKeepalive })),
    ];
    try {
      await this.deps.wireguard.apply(steps);
      const written = [...this.endpoints.keys()];
      this.endpoints.clear();
      this.keepalives.clear();
      return written;
    } catch (err) {
      this.log.warn('could not set peer endpoints, retrying', { err, peers: steps.length });
      return null;
    }
  }

  private async sendRelay(): Promise<void> {
    for (const [publicKey, action] of [...this.relay]) {
      try {
        await (action === 'request' ? this.deps.requestRelay(publicKey) : this.deps.releaseRelay(publicKey));
        if (this.relay.get(publicKey) === action) this.relay.delete(publicKey);
        this.failing.delete(`${action} ${publicKey}`);
      } catch (err) {
        const key = `${action} ${publicKey}`;
        const level = this.failing.has(key) ? 'debug' : 'warn';
        this.failing.add(key);
        this.log[level](`relay ${action} failed, retrying`, { peer: publicKey, err });
      }
    }
  }

  private logTransitions(): void {
    const next = new Map<string, PeerPath['state']>();
    for (const path of this.selector.paths()) {
      next.set(path.publicKey, path.state);
      const before = this.states.get(path.publicKey);
      if (before !== path.state) this.log.info('peer path changed', { peer: path.publicKey, from: before ?? null, to: path.state, endpoint: path.endpoint });
    }
    this.states = next;
  }
}
