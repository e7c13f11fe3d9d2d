import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import type { FastifyRequest } from 'fastify';
import { enrollmentKeyUsable, Role } from '@meshgate/domain';
import { NodesProjection } from '../projections/nodes.projection';
import { ALLOWED, Allowed } from './allow.decorator';
import { EnrollmentKeysReadModel } from '../enrollment-keys/enrollment-keys.read-model';
import { Principal } from './principal';
import { ENROLLMENT_KEY_PREFIX, NODE_TOKEN_PREFIX, parseCredential, secretMatches } from './secrets';

export interface JwtClaims {
  sub: string;
  tid?: string;
  role?: Role;
}

const UNAUTHORIZED = 'missing or invalid credentials';

/** Establishes the caller from `Authorization: Bearer …` and checks it against the endpoint's @Allow. */
@Injectable()
export class CredentialsGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly jwt: JwtService,
    private readonly nodes: NodesProjection,
    private readonly keys: EnrollmentKeysReadModel,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const allowed = this.reflector.get<Allowed>(ALLOWED, context.getHandler()) ?? {};
    const request = context.switchToHttp().getRequest<FastifyRequest & { principal?: Principal }>();
    const header = request.headers.authorization;
    if (typeof header !== 'string' || !header.startsWith('Bearer ')) throw new UnauthorizedException(UNAUTHORIZED);
    const token = header.slice(7).trim();
    const principal = this.identify(token);
    if (!principal) throw new UnauthorizedException(UNAUTHORIZED);
    request.principal = principal;

    switch (principal.kind) {
      case 'node':
        if (!allowed.node) throw new ForbiddenException('a node token cannot be used here');
        return true;
      case 'enrollment':
        if (!allowed.enrollment) throw new ForbiddenException('an enrollment key cannot be used here');
        return true;
      case 'user':
        if (allowed.user) return true;
        if (!allowed.tenant) throw new ForbiddenException('a user token cannot be used here');
        if (!principal.tenantId || !principal.role) {
          throw new ForbiddenException('this endpoint needs a tenant-scoped token: log in with tenantId');
        }
        if (!allowed.tenant.includes(principal.role)) {
          throw new ForbiddenException(`the ${principal.role} role cannot do this`);
        }
        return true;
    }
  }

  private identify(token: string): Principal | null {
    if (token.startsWith(`${NODE_TOKEN_PREFIX}.`)) {
      const credential = parseCredential(token, NODE_TOKEN_PREFIX);
      const node = credential && this.nodes.findLive(credential.id);
      if (!credential || !node || !secretMatches(credential.secret, node.tokenHash)) return null;
      return { kind: 'node', nodeId: node.id, tenantId: node.tenantId };
    }
    if (token.startsWith(`${ENROLLMENT_KEY_PREFIX}.`)) {
      const credential = parseCredential(token, ENROLLMENT_KEY_PREFIX);
      const key = credential && this.keys.find(credential.id);
      if (!credential || !key || !secretMatches(credential.secret, key.secretHash)) return null;
      if (!enrollmentKeyUsable(key.state, new Date())) return null;
      return { kind: 'enrollment', keyId: key.id, tenantId: key.tenantId };
    }
    try {
      const claims = this.jwt.verify<JwtClaims>(token);
      if (typeof claims.sub !== 'string') return null;
      return { kind: 'user', userId: claims.sub, tenantId: claims.tid ?? null, role: claims.role ?? null };
    } catch {
      return null;
    }
  }
}
