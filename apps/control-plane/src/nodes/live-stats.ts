import { Inject, Injectable } from '@nestjs/common';
import { HeartbeatReport, liveHeartbeatStats, LivePeerStats } from '@meshgate/domain';
import { Gauge, Histogram, register } from 'prom-client';
import { APP_CONFIG, AppConfig } from '../config/app-config';

interface NodeLiveStats {
  rxBytes: number;
  txBytes: number;
  /** Peers with a handshake young enough to carry traffic. */
  established: number;
  peers: number;
  /** The latest report's peers: keys sorted, and each one's last handshake (ms since the epoch; NaN: none). */
  handshakeKeys: readonly string[];
  handshakeAt: Float64Array;
}

/**
 * What the latest heartbeat of each node said, as it was said (the log records only material changes): for
 * /metrics, and each peer's last handshake for the topology (the log keeps only whether a handshake is established).
 * Per replica and not replayed — each replica knows the heartbeats it took. A few numbers per node, plus a key and a
 * number per reported peer (the keys are the report's strings): 10,000 nodes × 100 peers ≈ 70 MB.
 */
@Injectable()
export class LiveStats {
  private readonly byNode = new Map<string, NodeLiveStats>();
  private readonly lag: Histogram;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const byNode = this.byNode;
    const total = (pick: (s: NodeLiveStats) => number) => [...byNode.values()].reduce((sum, s) => sum + pick(s), 0);
    for (const [name, help, pick] of [
      ['meshgate_reported_rx_bytes', 'Bytes received, summed over the latest heartbeat of each node this replica took', (s: NodeLiveStats) => s.rxBytes],
      ['meshgate_reported_tx_bytes', 'Bytes sent, summed over the latest heartbeat of each node this replica took', (s: NodeLiveStats) => s.txBytes],
      ['meshgate_peer_links_established', 'Peers with a live WireGuard handshake, as the latest heartbeats reported', (s: NodeLiveStats) => s.established],
      ['meshgate_peer_links_reported', 'Peers the latest heartbeats reported on', (s: NodeLiveStats) => s.peers],
    ] as const) {
      register.removeSingleMetric(name);
      new Gauge({ name, help, collect() { this.set(total(pick)); } });
    }
    // Buckets in multiples of the expected interval: on time is about 1×, a missed heartbeat shows as 2× and more.
    register.removeSingleMetric('meshgate_heartbeat_lag_seconds');
    this.lag = new Histogram({
      name: 'meshgate_heartbeat_lag_seconds',
      help: `Seconds since the node's previous heartbeat (taken by any replica), at each heartbeat this replica takes; expected ${config.heartbeatIntervalSeconds}`,
      buckets: [0.5, 0.9, 1, 1.1, 1.5, 2, 3, 5, 10].map((f) => f * config.heartbeatIntervalSeconds),
    });
  }

  /** `previousAt`: the node's heartbeat before this one, as the nodes view knows it (null for its first). */
  record(nodeId: string, report: HeartbeatReport, now: Date, previousAt: string | null): void {
    if (previousAt !== null) this.lag.observe(Math.max(0, now.getTime() - Date.parse(previousAt)) / 1000);
    const stats = liveHeartbeatStats(report, now);
    const previous = this.byNode.get(nodeId);
    this.byNode.set(nodeId, {
      rxBytes: stats.rxBytes ?? previous?.rxBytes ?? 0,
      txBytes: stats.txBytes ?? previous?.txBytes ?? 0,
      established: stats.peers ? stats.peers.filter((p) => p.handshakeEstablished).length : previous?.established ?? 0,
      peers: stats.peers?.length ?? previous?.peers ?? 0,
      ...(stats.peers ? handshakesOf(stats.peers) : { handshakeKeys: previous?.handshakeKeys ?? [], handshakeAt: previous?.handshakeAt ?? new Float64Array(0) }),
    });
  }

  /**
   * The node's last handshake with this peer as its latest heartbeat naming peers reported it (null: none yet), if this
   * replica took that heartbeat and the peer was in it; undefined otherwise.
   */
  lastHandshakeAt(nodeId: string, publicKey: string): string | null | undefined {
    const stats = this.byNode.get(nodeId);
    if (!stats) return undefined;
    const keys = stats.handshakeKeys;
    let lo = 0;
    let hi = keys.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (keys[mid] === publicKey) return Number.isNaN(stats.handshakeAt[mid]) ? null : new Date(stats.handshakeAt[mid]).toISOString();
      if (keys[mid] < publicKey) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }
}

function handshakesOf(peers: readonly LivePeerStats[]): Pick<NodeLiveStats, 'handshakeKeys' | 'handshakeAt'> {
  const sorted = [...peers].sort((a, b) => (a.publicKey < b.publicKey ? -1 : a.publicKey > b.publicKey ? 1 : 0));
  const handshakeAt = new Float64Array(sorted.length);
  sorted.forEach((p, i) => { handshakeAt[i] = p.lastHandshakeAt ? Date.parse(p.lastHandshakeAt) : NaN; });
  return { handshakeKeys: sorted.map((p) => p.publicKey), handshakeAt };
}
