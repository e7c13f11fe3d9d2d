import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { decideNode, streams } from '@meshgate/domain';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { LEADERSHIP, Leadership } from '../storage/database.port';
import { NodesView } from '../projections/nodes.view';

/**
 * The wall clock enters the log here, not in projections: a node silent for N heartbeat intervals gets a
 * NodeWentOffline event, so a replay shows the same status history the live system showed. Only the leading replica
 * sweeps (the others would race it for the same events); a successor takes over within the leadership poll.
 */
@Injectable()
export class OfflineSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OfflineSweeper.name);
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly nodes: NodesView,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LEADERSHIP) private readonly leadership: Leadership,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), this.config.sweepIntervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async sweep(now = new Date()): Promise<number> {
    if (this.running || !this.leadership.isLeader()) return 0;
    this.running = true;
    try {
      const offlineBefore = new Date(now.getTime() - this.config.heartbeatIntervalSeconds * this.config.offlineAfterMissedHeartbeats * 1000);
      // Decided synchronously: almost every online node is still fresh, and only the stale ones cost an append.
      const stale = this.nodes.onlineNodes().flatMap((node) => {
        const { state, version } = this.nodes.stateOf(node.id);
        const events = decideNode({ type: 'MarkNodeOffline', nodeId: node.id, offlineBefore }, state, { now });
        return events.length ? [{ node, version, events }] : [];
      });
      const results = await Promise.allSettled(stale.map(({ node, version, events }) => this.store.append({
        tenantId: node.tenantId,
        streams: [{ streamId: streams.node(node.id), expectedVersion: version, events }],
        metadata: { actor: { kind: 'system', id: 'offline-sweeper' } },
      })));
      // A heartbeat racing the sweep wins (409 here): the node is online, which is right.
      return results.filter((r) => r.status === 'fulfilled').length;
    } catch (error) {
      this.logger.error(`offline sweep failed: ${(error as Error).message}`);
      return 0;
    } finally {
      this.running = false;
    }
  }
}
