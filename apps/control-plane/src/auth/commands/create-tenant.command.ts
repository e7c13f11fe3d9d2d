import { CommandMeta } from '../../common/command-meta';

export class CreateTenantCommand {
  constructor(readonly name: string, readonly ownerUserId: string, readonly meta: CommandMeta) {}
}
