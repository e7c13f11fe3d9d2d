import type { Role } from '@meshgate/domain';
import { UpdateTenantSettingsDto } from '@meshgate/contracts';
import { CommandMeta } from '../../common/command-meta';

export class UpdateTenantSettingsCommand {
  constructor(readonly tenantId: string, readonly dto: UpdateTenantSettingsDto, readonly actorRole: Role, readonly meta: CommandMeta) {}
}
