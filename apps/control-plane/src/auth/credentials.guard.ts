import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import type { FastifyRequest } from 'fastify';
import { apiKeyUsable, canGrantRole, enrollmentKeyUsable, Role } from '@meshgate/domain';
import { ApiKeysReadModel } from '../api-keys/api-keys.read-model';
import { CLOCK, Clock } from '../policies/clock';
import { NodesView } from '../projections/nodes.view';
import { ViewFeeder } from '../projections/view-feeder';
import { ALLOWED, Allowed } from './allow.decorator';
import { EnrollmentKeysReadModel } from '../enrollment-keys/enrollment-keys.read-model';
import { DirectoryReadModel } from './directory.read-model';
import { Principal } from './principal';
import { API_KEY_PREFIX, ENROLLMENT_KEY_PREFIX, NODE_TOKEN_PREFIX, parseCredential, secretMatches } from './secrets';

export interface JwtClaims {
  sub: string;
  tid?: string;
  role?: Role;
}

const UNAUTHORIZED = 'missing or invalid credentials';
const MEMBERSHIP_CHANGED = 'the membership this token was issued for has changed or ended: log in again';
const API_KEY_ORPHANED = 'the API key\'s creator is no longer a member whose role grants the key\'s role';

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
    private readonly apiKeys: ApiKeysReadModel,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const allowed = this.reflector.get<Allowed>(ALLOWED, context.getHandler()) ?? {};
    const request = context.switchToHttp().getRequest<FastifyRequest & { principal?: Principal }>();
    const header = request.headers.authorization;
    if (typeof header !== 'string' || !header.startsWith('Bearer ')) throw new UnauthorizedException(UNAUTHORIZED);
    const token = header.slice(7).trim();
    const principal = await this.identify(token);
    if (!principal) throw new UnauthorizedException(UNAUTHORIZED);
    // A replica's views trail the log by a notification. A user's or enrollment key's request first catches them up
    // with every write acknowledged before it arrived, through whichever replica, so that it reads and decides on
    // them (no sticky sessions: a node registered through one replica is found, changed or removed through another
    // at once, and an If-Match that replica just answered holds here). Node requests, the hot path, skip it: their
    // lookups catch up when they miss, and heartbeats that lose a race decide again.
    if (principal.kind !== 'node') await this.views.catchUp();
    // Revocation: a tenant-scoped token holds only while its membership does, with the role it was issued for.
    if (principal.kind === 'user' && principal.tenantId !== null && !(await this.fresh(() => this.roleHolds(principal)))) {
      throw new UnauthorizedException(principal.apiKeyId ? API_KEY_ORPHANED : MEMBERSHIP_CHANGED);
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

  /**
   * A user token: the role it was issued with is still the user's. An API key: its creator is still a member whose
   * role could grant the key's role (a key made by a since-demoted owner stops, as does one whose creator left).
   */
  private roleHolds(principal: Extract<Principal, { kind: 'user' }>): boolean {
    const current = this.directory.roleOf(principal.tenantId!, principal.userId);
    if (principal.apiKeyId) return current !== undefined && principal.role !== null && canGrantRole(current, principal.role);
    return current === principal.role;
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
    if (token.startsWith(`${API_KEY_PREFIX}.`)) {
      const credential = parseCredential(token, API_KEY_PREFIX);
      const key = credential && (await this.apiKeys.find(credential.id));
      if (!credential || !key || !secretMatches(credential.secret, key.secretHash)) return null;
      if (!apiKeyUsable(key.state, this.clock.now())) return null;
      return { kind: 'user', userId: key.state.createdBy, tenantId: key.tenantId, role: key.state.role, apiKeyId: key.id };
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
