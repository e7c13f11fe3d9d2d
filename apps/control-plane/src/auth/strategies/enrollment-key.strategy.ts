import { Inject, Injectable } from '@nestjs/common';
import { enrollmentKeyUsable } from '@meshgate/domain';
import { EnrollmentKeysReadModel } from '../../enrollment-keys/enrollment-keys.read-model';
import { CLOCK, Clock } from '../../policies/clock';
import { ViewFeeder } from '../../projections/view-feeder';
import { Principal } from '../principal';
import { ENROLLMENT_KEY_PREFIX, parseCredential, secretMatches } from '../secrets';
import { CREDENTIALS_PASSPORT, CredentialsPassport, CredentialStrategy } from './bearer-token.strategy';

export const ENROLLMENT_KEY_STRATEGY = 'meshgate-enrollment-key';

/**
 * An enrollment key `mgk.<keyId>.<secret>`: a key whose secret hash matches (constant time) and that is still usable
 * (not revoked, expired or used up). Its request then catches this replica's views up with every write acknowledged
 * before it arrived, through whichever replica, so that the registration it makes decides on them.
 */
@Injectable()
export class EnrollmentKeyStrategy extends CredentialStrategy(ENROLLMENT_KEY_STRATEGY) {
  constructor(
    @Inject(CREDENTIALS_PASSPORT) authenticator: CredentialsPassport,
    private readonly keys: EnrollmentKeysReadModel,
    private readonly views: ViewFeeder,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    super(authenticator);
  }

  async validate(token: string): Promise<Principal | null> {
    const credential = parseCredential(token, ENROLLMENT_KEY_PREFIX);
    const key = credential && (await this.keys.find(credential.id));
    if (!credential || !key || !secretMatches(credential.secret, key.secretHash)) return null;
    if (!enrollmentKeyUsable(key.state, this.clock.now())) return null;
    await this.views.catchUp();
    return { kind: 'enrollment', keyId: key.id, tenantId: key.tenantId };
  }
}
