import { CreateEnrollmentKeyDto } from '@meshgate/contracts';
import type { Principal } from '../../auth/principal';
import { CommandMeta } from '../../common/command-meta';

export class CreateEnrollmentKeyCommand {
  /** `creator`: who asks; the key's tags must be theirs to own, and its untagged nodes will be theirs. */
  constructor(readonly tenantId: string, readonly dto: CreateEnrollmentKeyDto, readonly meta: CommandMeta, readonly creator?: Principal) {}
}
