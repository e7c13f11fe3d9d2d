import { CommandMeta } from '../../common/command-meta';

export class UpdatePolicyCommand {
  constructor(readonly tenantId: string, readonly document: unknown, readonly expectedVersion: number | undefined, readonly meta: CommandMeta) {}
}
