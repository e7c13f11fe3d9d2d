import { CommandMeta } from '../../common/command-meta';

export class RevokeEnrollmentKeyCommand {
  constructor(readonly tenantId: string, readonly keyId: string, readonly meta: CommandMeta) {}
}
