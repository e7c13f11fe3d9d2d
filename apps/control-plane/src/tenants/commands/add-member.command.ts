import type { Role } from '@meshgate/domain';
import { CommandMeta } from '../../common/command-meta';

export class AddMemberCommand {
  constructor(
    readonly tenantId: string, readonly email: string, readonly role: Role, readonly actorRole: Role, readonly meta: CommandMeta,
  ) {}
}
