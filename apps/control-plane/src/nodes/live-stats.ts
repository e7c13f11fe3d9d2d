import { Injectable } from '@nestjs/common';
import { HeartbeatReport, liveHeartbeatStats } from '@meshgate/domain';
import { Gauge, register } from 'prom-client';

interface NodeLiveStats {
  rxBytes: number;
  txBytes: number;
  /** Peers with a handshake young enough to carry traffic. */
  established: number;
  peers: number;
}

/**
 * What the latest heartbeat of each node said, as it was said (the log records only material changes): for
 * /metrics. Per replica and not replayed — each replica knows the heartbeats it took — and a few numbers per node,
 * not per peer, so 10,000 nodes cost a few hundred KB.
 */
@Injectable()
export class LiveStats {
  private readonly byNode = new Map<string, NodeLiveStats>();

  constructor() {
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
  }

  record(nodeId: string, report: HeartbeatReport, now: Date): void {
    const stats = liveHeartbeatStats(report, now);
    const previous = this.byNode.get(nodeId);
    this.byNode.set(nodeId, {
      rxBytes: stats.rxBytes ?? previous?.rxBytes ?? 0,
      txBytes: stats.txBytes ?? previous?.txBytes ?? 0,
      established: stats.peers ? stats.peers.filter((p) => p.handshakeEstablished).length : previous?.established ?? 0,
      peers: stats.peers?.length ?? previous?.peers ?? 0,
    });
  }
}
