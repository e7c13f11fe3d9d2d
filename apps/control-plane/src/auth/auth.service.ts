import { BadRequestException, ConflictException, HttpStatus, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import * as argon2 from 'argon2';
import { normalizeEmail } from '@meshgate/domain';
import type { LoginResponse } from '@meshgate/contracts';
import { RetryLaterException } from '../common/retry-later';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { JwtClaims } from './strategies/user-jwt.strategy';
import { DirectoryReadModel } from './directory.read-model';
import { LoginFailures } from './login-failures';

const BAD_CREDENTIALS = 'invalid email or password';

/** Which tenant a login is scoped to: by id, or by name (a name is unique only among the user's own tenants). */
export interface TenantChoice {
  tenantId?: string;
  tenant?: string;
}

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

  async login(email: string, password: string, choice: TenantChoice = {}): Promise<LoginResponse> {
    if (choice.tenantId !== undefined && choice.tenant !== undefined) {
      throw new BadRequestException(['give either tenant (a name) or tenantId, not both']);
    }
    const account = normalizeEmail(email);
    const wait = this.failures.retryAfterSeconds(account);
    if (wait > 0) throw new RetryLaterException(HttpStatus.TOO_MANY_REQUESTS, 'too many failed logins for this account; retry later', wait);
    this.failures.countAttempt(account);
    const user = await this.directory.userByEmail(account);
    // A single sign-on user has no password (an empty hash): the decoy is verified instead, and the login fails.
    const hash = user?.passwordHash ? user.passwordHash : await this.decoyHash;
    const ok = (await argon2.verify(hash, password)) && !!user?.passwordHash;
    if (!user || !ok) throw new UnauthorizedException(BAD_CREDENTIALS);
    this.failures.succeeded(account);
    return this.issue(user.id, choice);
  }

  /** A token for the user, scoped to the chosen tenant if one was asked for (password login and single sign-on). */
  async issue(userId: string, choice: TenantChoice = {}): Promise<LoginResponse> {
    const memberships = await this.directory.memberships(userId);
    const claims: JwtClaims = { sub: userId };
    const candidates = choice.tenantId !== undefined ? memberships.filter((m) => m.tenantId === choice.tenantId)
      : choice.tenant !== undefined ? memberships.filter((m) => m.tenantName === choice.tenant) : null;
    if (candidates !== null) {
      // Same answer as a wrong password: a login never reveals which tenants exist.
      if (candidates.length === 0) throw new UnauthorizedException(BAD_CREDENTIALS);
      if (candidates.length > 1) {
        throw new ConflictException(`you belong to ${candidates.length} tenants named "${choice.tenant}": log in with tenantId (one of ${candidates.map((m) => m.tenantId).join(', ')})`);
      }
      claims.tid = candidates[0].tenantId;
      claims.role = candidates[0].role;
    }
    return {
      accessToken: await this.jwt.signAsync(claims, { expiresIn: this.config.jwtExpiresInSeconds }),
      expiresIn: this.config.jwtExpiresInSeconds,
      tenants: memberships.map((m) => ({ id: m.tenantId, name: m.tenantName, role: m.role })),
    };
  }
}
