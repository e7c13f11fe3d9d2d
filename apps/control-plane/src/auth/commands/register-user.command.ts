import { CommandMeta } from '../../common/command-meta';

export class RegisterUserCommand {
  constructor(readonly email: string, readonly password: string, readonly meta: CommandMeta) {}
}
