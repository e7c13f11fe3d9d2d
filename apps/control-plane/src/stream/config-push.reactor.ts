import type { RecordedEvent } from '@meshgate/domain';
import type { ConfigPatch } from '@meshgate/contracts';
import { MetricsService } from '../metrics/metrics.service';
import { NodeConfigView } from '../projections/node-config.view';
import { Reactor } from '../projections/view';
import { StreamHub } from './stream-hub';

/** Streams written per turn of the event loop while a large change fans out. */
const SLICE = 500;

type Push =
  | { kind: 'patch'; nodeId: string; patch: ConfigPatch }
  | { kind: 'close'; nodeId: string }
  /** Everything of the commit before it is written: how long the change took to reach this replica's agents. */
  | { kind: 'reached'; committedAt: number };

/**
 * Sends the config patches the node-config view computed for this replica's open streams, and ends the streams of
 * removed nodes. It runs after the views applied a commit (this replica's or another's), so every replica pushes to
 * its own agents whatever replica took the write.
 *
 * The writes are queued and made in slices that yield to the event loop: the write that caused a change is answered
 * once committed, not once 10,000 streams have been written, and heartbeats keep flowing during a large fan-out.
 * One queue keeps every node's patches in commit order; a stream opened meanwhile starts from the view's current
 * version and skips the queued patches it already has.
 */
export class ConfigPushReactor implements Reactor {
  private queue: Push[] = [];
  private next = 0;
  private draining = false;

  constructor(private readonly configs: NodeConfigView, private readonly hub: StreamHub, private readonly metrics: MetricsService) {}

  react(events: readonly RecordedEvent[]): void {
    const { patches, removed } = this.configs.drainPushes();
    if (patches.length === 0 && removed.length === 0) return;
    for (const { nodeId, patch } of patches) this.queue.push({ kind: 'patch', nodeId, patch });
    if (patches.length > 0 && events.length > 0) this.queue.push({ kind: 'reached', committedAt: Date.parse(events[events.length - 1].recordedAt) });
    for (const nodeId of removed) this.queue.push({ kind: 'close', nodeId });
    if (!this.draining) this.drain();
  }

  private drain(): void {
    this.draining = true;
    const end = Math.min(this.queue.length, this.next + SLICE);
    for (; this.next < end; this.next++) {
      const push = this.queue[this.next];
      if (push.kind === 'patch') this.hub.publish(push.nodeId, push.patch);
      else if (push.kind === 'close') this.hub.close(push.nodeId);
      else this.metrics.configPropagation.observe(Math.max(0, Date.now() - push.committedAt) / 1000);
    }
    if (this.next < this.queue.length) {
      setImmediate(() => this.drain());
      return;
    }
    this.queue = [];
    this.next = 0;
    this.draining = false;
  }
}
