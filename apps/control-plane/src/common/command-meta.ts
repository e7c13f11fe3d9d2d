import type { Actor } from '@meshgate/domain';

/** Who issued a command and under which request: becomes the events' metadata. */
export interface CommandMeta {
  actor: Actor;
  requestId?: string;
  correlationId?: string;
}
