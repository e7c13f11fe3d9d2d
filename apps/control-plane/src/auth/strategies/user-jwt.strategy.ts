import { Injectable, Inject, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { Role } from '@meshgate/domain';
import { ViewFeeder } from '../../projections/view-feeder';
import { DirectoryReadModel } from '../directory.read-model';
import { Principal } from '../principal';
import { CREDENTIALS_PASSPORT, CredentialsPassport, CredentialStrategy } from './bearer-token.strategy';
import { fresh } from './fresh';

export interface JwtClaims {
  sub: string;
  tid?: string;
  role?: Role;
}

export const USER_JWT_STRATEGY = 'meshgate-user-jwt';
const MEMBERSHIP_CHANGED = 'the membership this token was issued for has changed or ended: log in again';

/**
 * A user's token, a JWT signed by this control plane (HS256): unscoped (`sub`), or scoped to a tenant with a role
 * (`tid`, `role`). Its request catches this replica's views up with every write acknowledged before it arrived,
 * through whichever replica (no sticky sessions: a node registered through one replica is found, changed or removed
 * through another at once, and an If-Match that replica just answered holds here). Revocation: a tenant-scoped token
 * holds only while its membership does, with the role it was issued for, checked on every request (and asked again
 * after a catch-up when the views say no).
 */
@Injectable()
export class UserJwtStrategy extends CredentialStrategy(USER_JWT_STRATEGY) {
  constructor(
    @Inject(CREDENTIALS_PASSPORT) authenticator: CredentialsPassport,
    private readonly jwt: JwtService,
    private readonly directory: DirectoryReadModel,
    private readonly views: ViewFeeder,
  ) {
    super(authenticator);
  }

  async validate(token: string): Promise<Principal | null> {
    const principal = this.principalOf(token);
    if (!principal) return null;
    await this.views.catchUp();
    const { tenantId, userId, role } = principal;
    if (tenantId !== null && !(await fresh(this.views, () => this.directory.roleOf(tenantId, userId) === role))) {
      throw new UnauthorizedException(MEMBERSHIP_CHANGED);
    }
    return principal;
  }

  private principalOf(token: string): Extract<Principal, { kind: 'user' }> | null {
    try {
      const claims = this.jwt.verify<JwtClaims>(token);
      if (typeof claims.sub !== 'string') return null;
      if (claims.tid === undefined) return { kind: 'user', userId: claims.sub, tenantId: null, role: null };
      if (typeof claims.tid !== 'string' || typeof claims.role !== 'string') return null;
      return { kind: 'user', userId: claims.sub, tenantId: claims.tid, role: claims.role };
    } catch {
      return null;
    }
  }
}
