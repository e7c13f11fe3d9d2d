import { HttpStatus, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import * as argon2 from 'argon2';
import { normalizeEmail } from '@meshgate/domain';
import type { LoginResponse } from '@meshgate/contracts';
import { RetryLaterException } from '../common/retry-later';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { JwtClaims } from './credentials.guard';
import { DirectoryReadModel } from './directory.read-model';
import { LoginFailures } from './login-failures';

const BAD_CREDENTIALS = 'invalid email or password';

@Injectable()
export class AuthService {
  /** Verified against when the email is unknown, so both failures take the same time. */
  private readonly decoyHash = argon2.hash('meshgate-decoy-password', { type: argon2.argon2id });

  constructor(
    private readonly directory: DirectoryReadModel,
    private readonly jwt: JwtService,
    private readonly failures: LoginFailures,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async login(email: string, password: string, tenantId?: string): Promise<LoginResponse> {
    const account = normalizeEmail(email);
    const wait = this.failures.retryAfterSeconds(account);
    if (wait > 0) throw new RetryLaterException(HttpStatus.TOO_MANY_REQUESTS, 'too many failed logins for this account; retry later', wait);
    this.failures.countAttempt(account);
    const user = await this.directory.userByEmail(account);
    const ok = await argon2.verify(user?.passwordHash ?? (await this.decoyHash), password);
    if (!user || !ok) throw new UnauthorizedException(BAD_CREDENTIALS);
    this.failures.succeeded(account);
    const memberships = await this.directory.memberships(user.id);
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
