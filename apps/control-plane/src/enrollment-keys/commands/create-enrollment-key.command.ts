import { CreateEnrollmentKeyDto } from '@meshgate/contracts';
import { CommandMeta } from '../../common/command-meta';

export class CreateEnrollmentKeyCommand {
  constructor(readonly tenantId: string, readonly dto: CreateEnrollmentKeyDto, readonly meta: CommandMeta) {}
}
