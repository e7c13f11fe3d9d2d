import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { decideNode, evolveNode, NodeCommand, NodeEvent, streams } from '@meshgate/domain';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { CLOCK, Clock } from '../policies/clock';
import { LEADERSHIP, Leadership } from '../storage/database.port';
import { NodeRow, NodesView } from '../projections/nodes.view';

/**
 * The wall clock enters the log here, not in projections: a node silent for N heartbeat intervals gets a
 * NodeWentOffline event, a node whose key is older than its tenant's expiry a NodeKeyExpired, and an ephemeral node
 * inactive for EPHEMERAL_NODE_TTL_SECONDS a NodeRemoved, so a replay shows the same history the live system showed.
 * The time is the CLOCK provider's (a test moves it with PUT /api/v1/test-clock). Only the leading replica sweeps
 * (the others would race it for the same events); a successor takes over within the leadership poll.
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
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), this.config.sweepIntervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async sweep(now = this.clock.now()): Promise<number> {
    if (this.running || !this.leadership.isLeader()) return 0;
    this.running = true;
    try {
      const offlineBefore = new Date(now.getTime() - this.config.heartbeatIntervalSeconds * this.config.offlineAfterMissedHeartbeats * 1000);
      const inactiveBefore = new Date(now.getTime() - this.config.ephemeralNodeTtlSeconds * 1000);
      // Each node's questions in order, so that one append per node carries all its answers.
      const asked = new Map<string, { node: NodeRow; commands: NodeCommand[] }>();
      const ask = (node: NodeRow, command: NodeCommand) => {
        const entry = asked.get(node.id) ?? { node, commands: [] };
        entry.commands.push(command);
        asked.set(node.id, entry);
      };
      for (const node of this.nodes.onlineNodes()) ask(node, { type: 'MarkNodeOffline', nodeId: node.id, offlineBefore });
      for (const node of this.nodes.keysDue(now)) {
        ask(node, { type: 'ExpireNodeKey', nodeId: node.id, expiryDays: this.nodes.keyExpiryDaysOf(node.tenantId) });
      }
      for (const node of this.nodes.ephemeralInactiveSince(inactiveBefore)) ask(node, { type: 'RemoveEphemeralNode', nodeId: node.id, inactiveBefore });

      // Decided synchronously: almost every online node is still fresh, and only the stale ones cost an append.
      const due = [...asked.values()].flatMap(({ node, commands }) => {
        const { state: initial, version } = this.nodes.stateOf(node.id);
        let state = initial;
        const events: NodeEvent[] = [];
        for (const command of commands) {
          const decided = decideNode(command, state, { now });
          events.push(...decided);
          state = decided.reduce(evolveNode, state);
        }
        return events.length ? [{ node, version, events }] : [];
      });
      const results = await Promise.allSettled(due.map(({ node, version, events }) => this.store.append({
        tenantId: node.tenantId,
        streams: [{ streamId: streams.node(node.id), expectedVersion: version, events }],
        metadata: { actor: { kind: 'system', id: 'offline-sweeper' } },
      })));
      // A heartbeat (or rotation) racing the sweep wins (409 here); the next sweep asks again on the new state.
      return results.filter((r) => r.status === 'fulfilled').length;
    } catch (error) {
      this.logger.error(`offline sweep failed: ${(error as Error).message}`);
      return 0;
    } finally {
      this.running = false;
    }
  }
}
