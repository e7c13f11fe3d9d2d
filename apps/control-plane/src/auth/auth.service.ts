import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import * as argon2 from 'argon2';
import { normalizeEmail } from '@meshgate/domain';
import type { LoginResponse } from '@meshgate/contracts';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { JwtClaims } from './credentials.guard';
import { DirectoryReadModel } from './directory.read-model';

const BAD_CREDENTIALS = 'invalid email or password';

@Injectable()
export class AuthService {
  /** Verified against when the email is unknown, so both failures take the same time. */
  private readonly decoyHash = argon2.hash('meshgate-decoy-password', { type: argon2.argon2id });

  constructor(
    private readonly directory: DirectoryReadModel,
    private readonly jwt: JwtService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async login(email: string, password: string, tenantId?: string): Promise<LoginResponse> {
    const user = this.directory.userByEmail(normalizeEmail(email));
    const ok = await argon2.verify(user?.passwordHash ?? (await this.decoyHash), password);
    if (!user || !ok) throw new UnauthorizedException(BAD_CREDENTIALS);
    const memberships = this.directory.memberships(user.id);
    const claims: JwtClaims = { sub: user.id };
    if (tenantId !== undefined) {
      const membership = memberships.find((m) => m.tenantId === tenantId);
      // Same answer as a wrong password: a login never reveals which tenants exist.
      if (!membership) throw new UnauthorizedException(BAD_CREDENTIALS);
      claims.tid = tenantId;
      claims.role = membership.role;
    }
    return {
      accessToken: await this.jwt.signAsync(claims, { expiresIn: this.config.jwtExpiresInSeconds }),
      expiresIn: this.config.jwtExpiresInSeconds,
      tenants: memberships.map((m) => ({ id: m.tenantId, name: m.tenantName, role: m.role })),
    };
  }
}
