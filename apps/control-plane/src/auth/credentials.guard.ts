import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import type { FastifyRequest } from 'fastify';
import { enrollmentKeyUsable, Role } from '@meshgate/domain';
import { NodesView } from '../projections/nodes.view';
import { ViewFeeder } from '../projections/view-feeder';
import { ALLOWED, Allowed } from './allow.decorator';
import { EnrollmentKeysReadModel } from '../enrollment-keys/enrollment-keys.read-model';
import { DirectoryReadModel } from './directory.read-model';
import { Principal } from './principal';
import { ENROLLMENT_KEY_PREFIX, NODE_TOKEN_PREFIX, parseCredential, secretMatches } from './secrets';

export interface JwtClaims {
  sub: string;
  tid?: string;
  role?: Role;
}

const UNAUTHORIZED = 'missing or invalid credentials';
const MEMBERSHIP_CHANGED = 'the membership this token was issued for has changed or ended: log in again';

/** Establishes the caller from `Authorization: Bearer …` and checks it against the endpoint's @Allow. */
@Injectable()
export class CredentialsGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly jwt: JwtService,
    private readonly nodes: NodesView,
    private readonly keys: EnrollmentKeysReadModel,
    private readonly directory: DirectoryReadModel,
    private readonly views: ViewFeeder,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const allowed = this.reflector.get<Allowed>(ALLOWED, context.getHandler()) ?? {};
    const request = context.switchToHttp().getRequest<FastifyRequest & { principal?: Principal }>();
    const header = request.headers.authorization;
    if (typeof header !== 'string' || !header.startsWith('Bearer ')) throw new UnauthorizedException(UNAUTHORIZED);
    const token = header.slice(7).trim();
    const principal = await this.identify(token);
    if (!principal) throw new UnauthorizedException(UNAUTHORIZED);
    // Revocation: a tenant-scoped token holds only while its membership does, with the role it was issued for.
    if (principal.kind === 'user' && principal.tenantId !== null && !(await this.fresh(() => this.roleHolds(principal)))) {
      throw new UnauthorizedException(MEMBERSHIP_CHANGED);
    }
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

  private roleHolds(principal: Extract<Principal, { kind: 'user' }>): boolean {
    return this.directory.roleOf(principal.tenantId!, principal.userId) === principal.role;
  }

  /**
   * A check that fails on this replica's views is asked again once they have caught up with the log: the write it
   * depends on (a registration, a membership) may have been taken by another replica a moment ago.
   */
  private async fresh<T>(check: () => T): Promise<T> {
    const first = check();
    if (first) return first;
    await this.views.catchUp();
    return check();
  }

  private async identify(token: string): Promise<Principal | null> {
    if (token.startsWith(`${NODE_TOKEN_PREFIX}.`)) {
      const credential = parseCredential(token, NODE_TOKEN_PREFIX);
      const node = credential && (await this.fresh(() => this.nodes.findLive(credential.id)));
      if (!credential || !node || !secretMatches(credential.secret, node.tokenHash)) return null;
      return { kind: 'node', nodeId: node.id, tenantId: node.tenantId };
    }
    if (token.startsWith(`${ENROLLMENT_KEY_PREFIX}.`)) {
      const credential = parseCredential(token, ENROLLMENT_KEY_PREFIX);
      const key = credential && (await this.keys.find(credential.id));
      if (!credential || !key || !secretMatches(credential.secret, key.secretHash)) return null;
      if (!enrollmentKeyUsable(key.state, new Date())) return null;
      return { kind: 'enrollment', keyId: key.id, tenantId: key.tenantId };
    }
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
