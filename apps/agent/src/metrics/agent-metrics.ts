import { Counter, Gauge, Registry } from 'prom-client';
import type { ReconcileOutcome } from '../reconciler/reconciler';
import type { RelayStats } from '../relay/relay-forwarder';
import type { LivePeer } from '../wireguard/wireguard-port';

/**
 * The agent's own metrics, on a registry of its own (nothing process-wide, so tests can hold several agents), fed by
 * the reconciler's runs: what the interface looked like at the latest one and which config is live.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  private peers: readonly LivePeer[] = [];
  private readonly reconcileErrors = new Counter({
    name: 'meshgate_agent_reconcile_errors_total', help: 'Reconcile runs that failed (retried at the next drift check)', registers: [this.registry],
  });
  private readonly reconciles = new Counter({
    name: 'meshgate_agent_reconciles_total', help: 'Reconcile runs that completed', registers: [this.registry],
  });
  private readonly appliedVersion = new Gauge({
    name: 'meshgate_agent_config_version', help: 'Version of the node config live on the interface (absent before the first)', registers: [this.registry],
  });

  constructor(version: string, now: () => number = Date.now) {
    new Gauge({ name: 'meshgate_agent_build_info', help: 'Always 1: the agent version running', labelNames: ['version'], registers: [this.registry] })
      .set({ version }, 1);
    const peers = () => this.peers;
    new Gauge({
      name: 'meshgate_agent_peer_handshake_age_seconds',
      help: 'Seconds since the latest WireGuard handshake with each peer, by its public key (peers without one are left out)',
      labelNames: ['peer'],
      registers: [this.registry],
      collect() {
        // Reset first: a peer that left the config must not stay frozen at its last age.
        this.reset();
        const at = now() / 1000;
        for (const p of peers()) if (p.latestHandshake > 0) this.set({ peer: p.publicKey }, Math.max(0, at - p.latestHandshake));
      },
    });
    new Gauge({
      name: 'meshgate_agent_peers', help: 'Peers on the interface at the latest reconcile', registers: [this.registry],
      collect() {
        this.set(peers().length);
      },
    });
  }

  applied(outcome: ReconcileOutcome): void {
    this.reconciles.inc();
    this.peers = outcome.live.peers;
    if (outcome.config !== null) this.appliedVersion.set(outcome.config.version);
  }

  /** On a relay node (once): its forwarder's counters, read at each scrape. */
  attachRelay(source: () => RelayStats): void {
    const registers = [this.registry];
    // The forwarder keeps the totals; a scrape copies them (reset then inc, as prom-client counters have no set).
    const total = (pick: (s: RelayStats) => number) =>
      function (this: Counter) {
        this.reset();
        this.inc(pick(source()));
      };
    new Counter({ name: 'meshgate_agent_relay_forwarded_bytes_total', help: 'Bytes the relay forwarded between pairs', registers, collect: total((s) => s.forwardedBytes) });
    new Counter({ name: 'meshgate_agent_relay_forwarded_packets_total', help: 'Datagrams the relay forwarded between pairs', registers, collect: total((s) => s.forwardedPackets) });
    new Counter({
      name: 'meshgate_agent_relay_dropped_packets_total',
      help: 'Datagrams the relay dropped, by reason: unknownSource, rateLimited, noPeerYet',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, count] of Object.entries(source().dropped)) this.inc({ reason }, count);
      },
    });
    new Gauge({
      name: 'meshgate_agent_relay_forwards', help: 'Pairs the relay forwards for', registers,
      collect() {
        this.set(source().forwards);
      },
    });
  }

  failed(): void {
    this.reconcileErrors.inc();
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
