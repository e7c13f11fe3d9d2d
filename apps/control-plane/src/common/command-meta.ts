import type { Actor } from '@meshgate/domain';

/** Who issued a command and under which request: becomes the events' metadata. */
export interface CommandMeta {
  actor: Actor;
  requestId?: string;
  correlationId?: string;
  /** The client's IP address as the server sees it (after TRUST_PROXY): a node's NAT address, for instance. */
  sourceAddress?: string;
}
