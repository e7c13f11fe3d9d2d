import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import type { Role } from '@meshgate/domain';
import { ApiCredentials } from '../openapi/api-credentials.decorator';
import { RateLimitGuard } from '../rate-limits/rate-limit.guard';
import { CredentialsGuard } from './credentials.guard';

/** Which credentials an endpoint accepts. Anything not listed is refused. */
export interface Allowed {
  /** Any logged-in user, scoped or not (create tenant, list memberships). */
  user?: boolean;
  /** A tenant-scoped user token with one of these roles. */
  tenant?: readonly Role[];
  /** A node token (the route's :id must be that node). */
  node?: boolean;
  /** An enrollment key. */
  enrollment?: boolean;
}

export const ALLOWED = 'meshgate:allowed';

/** The credentials, then the caller's rate limit (writes are counted per principal, so it must be known first). */
export const Allow = (allowed: Allowed) =>
  applyDecorators(SetMetadata(ALLOWED, allowed), UseGuards(CredentialsGuard, RateLimitGuard), ApiCredentials(allowed));

export const ALL_ROLES: readonly Role[] = ['owner', 'admin', 'member', 'auditor'];
export const ADMINS: readonly Role[] = ['owner', 'admin'];
/** Who may read the audit log and ask it about the past. */
export const AUDITORS: readonly Role[] = ['owner', 'admin', 'auditor'];
export const WRITERS: readonly Role[] = ['owner', 'admin', 'member'];
