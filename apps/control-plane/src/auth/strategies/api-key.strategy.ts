import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { apiKeyUsable, canGrantRole } from '@meshgate/domain';
import { ApiKeysReadModel } from '../../api-keys/api-keys.read-model';
import { CLOCK, Clock } from '../../policies/clock';
import { ViewFeeder } from '../../projections/view-feeder';
import { DirectoryReadModel } from '../directory.read-model';
import { Principal } from '../principal';
import { API_KEY_PREFIX, parseCredential, secretMatches } from '../secrets';
import { CREDENTIALS_PASSPORT, CredentialsPassport, CredentialStrategy } from './bearer-token.strategy';
import { fresh } from './fresh';

export const API_KEY_STRATEGY = 'meshgate-api-key';
const API_KEY_ORPHANED = 'the API key\'s creator is no longer a member whose role grants the key\'s role';

/**
 * An API key `mga.<keyId>.<secret>`: a key whose secret hash matches (constant time), unexpired and unrevoked, acting
 * for its creator in its tenant with its own role. Its request catches this replica's views up (as a user's does);
 * then, on every request, its creator must still be a member whose role could grant the key's role (a key made by a
 * since-demoted owner stops, as does one whose creator left), asked again after a catch-up when the views say no.
 */
@Injectable()
export class ApiKeyStrategy extends CredentialStrategy(API_KEY_STRATEGY) {
  constructor(
    @Inject(CREDENTIALS_PASSPORT) authenticator: CredentialsPassport,
    private readonly apiKeys: ApiKeysReadModel,
    private readonly directory: DirectoryReadModel,
    private readonly views: ViewFeeder,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    super(authenticator);
  }

  async validate(token: string): Promise<Principal | null> {
    const credential = parseCredential(token, API_KEY_PREFIX);
    const key = credential && (await this.apiKeys.find(credential.id));
    if (!credential || !key || !secretMatches(credential.secret, key.secretHash)) return null;
    if (!apiKeyUsable(key.state, this.clock.now())) return null;
    const { tenantId, state: { createdBy, role } } = key;
    await this.views.catchUp();
    const holds = () => {
      const current = this.directory.roleOf(tenantId, createdBy);
      return current !== undefined && canGrantRole(current, role);
    };
    if (!(await fresh(this.views, holds))) throw new UnauthorizedException(API_KEY_ORPHANED);
    return { kind: 'user', userId: createdBy, tenantId, role, apiKeyId: key.id };
  }
}
