import type { RecordedEvent } from '@meshgate/domain';
import { NodeConfigView } from '../projections/node-config.view';
import { Reactor } from '../projections/view';
import { StreamHub } from './stream-hub';

/**
 * Sends the config patches the node-config view computed for this replica's open streams, and ends the streams of
 * removed nodes. It runs after the views applied a commit (this replica's or another's), so every replica pushes to
 * its own agents whatever replica took the write.
 */
export class ConfigPushReactor implements Reactor {
  constructor(private readonly configs: NodeConfigView, private readonly hub: StreamHub) {}

  react(_events: readonly RecordedEvent[]): void {
    const { patches, removed } = this.configs.drainPushes();
    for (const { nodeId, patch } of patches) this.hub.publish(nodeId, patch);
    for (const nodeId of removed) this.hub.close(nodeId);
  }
}
