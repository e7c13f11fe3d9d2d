import type { Role } from '@meshgate/domain';
import { CreateApiKeyDto } from '@meshgate/contracts';
import { CommandMeta } from '../../common/command-meta';

export class CreateApiKeyCommand {
  constructor(
    readonly tenantId: string, readonly createdBy: string, readonly actorRole: Role, readonly dto: CreateApiKeyDto, readonly meta: CommandMeta,
  ) {}
}
