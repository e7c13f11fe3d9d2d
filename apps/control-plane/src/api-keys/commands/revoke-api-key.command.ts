import type { Role } from '@meshgate/domain';
import { CommandMeta } from '../../common/command-meta';

export class RevokeApiKeyCommand {
  constructor(readonly tenantId: string, readonly keyId: string, readonly actorRole: Role, readonly meta: CommandMeta) {}
}
