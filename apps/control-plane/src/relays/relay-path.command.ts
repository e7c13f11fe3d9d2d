import type { CommandMeta } from '../common/command-meta';

/** A node asks for (open) or gives up (close) a relay path to one of its peers, named by public key. */
export class RelayPathCommand {
  constructor(
    readonly action: 'open' | 'close', readonly tenantId: string, readonly nodeId: string, readonly peerKey: string, readonly meta: CommandMeta,
  ) {}
}
