import { CommandMeta } from '../../common/command-meta';

/** A sign-on the IdP vouched for: provisions the user at their first, records their groups at each. */
export class SignInSsoCommand {
  constructor(
    readonly issuer: string, readonly subject: string, readonly email: string, readonly groups: string[], readonly meta: CommandMeta,
  ) {}
}
