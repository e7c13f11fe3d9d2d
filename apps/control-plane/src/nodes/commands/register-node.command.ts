import { RegisterNodeDto } from '@meshgate/contracts';
import { Principal } from '../../auth/principal';
import { CommandMeta } from '../../common/command-meta';

export class RegisterNodeCommand {
  constructor(readonly dto: RegisterNodeDto, readonly principal: Principal, readonly meta: CommandMeta) {}
}
