import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SecurityLog } from '../logging/security-log';
import { ALLOWED, Allowed } from './allow.decorator';
import { Principal } from './principal';
import { API_KEY_PREFIX, ENROLLMENT_KEY_PREFIX, NODE_TOKEN_PREFIX } from './secrets';
import { API_KEY_STRATEGY } from './strategies/api-key.strategy';
import { bearerToken, CREDENTIALS_PASSPORT, CredentialsPassport } from './strategies/bearer-token.strategy';
import { ENROLLMENT_KEY_STRATEGY } from './strategies/enrollment-key.strategy';
import { NODE_TOKEN_STRATEGY } from './strategies/node-token.strategy';
import { USER_JWT_STRATEGY } from './strategies/user-jwt.strategy';

const UNAUTHORIZED = 'missing or invalid credentials';

/** The strategy for a token, by its prefix; anything else is a user's JWT. */
function strategyFor(token: string): string {
  if (token.startsWith(`${NODE_TOKEN_PREFIX}.`)) return NODE_TOKEN_STRATEGY;
  if (token.startsWith(`${ENROLLMENT_KEY_PREFIX}.`)) return ENROLLMENT_KEY_STRATEGY;
  if (token.startsWith(`${API_KEY_PREFIX}.`)) return API_KEY_STRATEGY;
  return USER_JWT_STRATEGY;
}

/**
 * Establishes the caller from `Authorization: Bearer …` through the passport strategy its token's kind names (in
 * auth/strategies: each validates its token, catches the views up where needed and re-checks revocable grants), then
 * checks it against the endpoint's @Allow.
 */
@Injectable()
export class CredentialsGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(CREDENTIALS_PASSPORT) private readonly passport: CredentialsPassport,
    private readonly security: SecurityLog,
  ) {}

  /** Refusals are security events: which kind of credential, and why (the token itself is never logged). */
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest & { principal?: Principal }>();
    try {
      return await this.check(context, request);
    } catch (error) {
      const token = bearerToken(request);
      const credential = token === null ? 'none' : strategyFor(token).replace(/^meshgate-/, '');
      const reason = error instanceof Error ? error.message : String(error);
      if (error instanceof UnauthorizedException) this.security.record('auth.token_refused', request, { credential, reason });
      else if (error instanceof ForbiddenException) this.security.record('auth.access_denied', request, { credential, reason });
      throw error;
    }
  }

  private async check(context: ExecutionContext, request: FastifyRequest & { principal?: Principal }): Promise<boolean> {
    const allowed = this.reflector.get<Allowed>(ALLOWED, context.getHandler()) ?? {};
    const token = bearerToken(request);
    if (token === null) throw new UnauthorizedException(UNAUTHORIZED);
    const principal = await this.authenticate(strategyFor(token), request, context.switchToHttp().getResponse<FastifyReply>());
    request.principal = principal;

    switch (principal.kind) {
      case 'node':
        if (!allowed.node) throw new ForbiddenException('a node token cannot be used here');
        return true;
      case 'enrollment':
        if (!allowed.enrollment) throw new ForbiddenException('an enrollment key cannot be used here');
        return true;
      case 'user':
        // An API key is for its tenant's resources: it cannot create tenants or list its creator's other memberships.
        if (allowed.user && !principal.apiKeyId) return true;
        if (!allowed.tenant) throw new ForbiddenException(principal.apiKeyId ? 'an API key cannot be used here' : 'a user token cannot be used here');
        if (!principal.tenantId || !principal.role) {
          throw new ForbiddenException('this endpoint needs a tenant-scoped token: log in with tenantId');
        }
        if (!allowed.tenant.includes(principal.role)) {
          throw new ForbiddenException(`the ${principal.role} role cannot do this`);
        }
        return true;
    }
  }

  /** passport.authenticate with the named strategy: its principal, its error as it is, its failure as a 401. */
  private authenticate(strategy: string, request: FastifyRequest, reply: FastifyReply): Promise<Principal> {
    return new Promise((resolve, reject) => {
      const middleware = this.passport.authenticate(strategy, { session: false }, (error: unknown, principal: Principal | false) => {
        if (error) reject(error);
        else if (!principal) reject(new UnauthorizedException(UNAUTHORIZED));
        else resolve(principal);
      }) as (req: unknown, res: unknown, next: (error?: unknown) => void) => void;
      middleware(request, reply, (error) => reject(error ?? new Error(`the ${strategy} strategy neither accepted nor refused the request`)));
    });
  }
}
