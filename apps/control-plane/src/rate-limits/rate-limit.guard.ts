import { ExecutionContext, HttpStatus, Injectable, SetMetadata } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail, ThrottlerModuleOptions } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal';
import { RetryLaterException } from '../common/retry-later';
import { AppConfig } from '../config/app-config';
import { SlidingWindowStorage } from './sliding-window.storage';

/**
 * The budgets, each counted in a sliding window in memory (per replica; sliding-window.storage.ts):
 * - `auth`: register and login, per client address and route (the address honours TRUST_PROXY);
 * - `writes`: every other POST/PUT/DELETE, per principal across all routes;
 * - `heartbeats`: per node, per heartbeat interval (a heartbeat is a write the log keeps for ever).
 */
export type RateLimitBucket = 'auth' | 'writes' | 'heartbeats';

const BUCKET = 'meshgate:rate-limit-bucket';
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Puts a route in a bucket other than the one its method implies (reads are in none). */
export const RateLimit = (bucket: RateLimitBucket) => SetMetadata(BUCKET, bucket);

function bucketOf(context: ExecutionContext): RateLimitBucket | undefined {
  const explicit = Reflect.getMetadata(BUCKET, context.getHandler()) as RateLimitBucket | undefined;
  if (explicit) return explicit;
  return WRITE_METHODS.has(context.switchToHttp().getRequest<FastifyRequest>().method) ? 'writes' : undefined;
}

/** Who spends the budget: the principal the credentials guard established (it runs first). */
function principalKey(request: FastifyRequest & { principal?: Principal }): string {
  const p = request.principal;
  if (!p) return `address:${request.ip}`;
  switch (p.kind) {
    case 'user': return `user:${p.userId}`;
    case 'node': return `node:${p.nodeId}`;
    case 'enrollment': return `enrollment:${p.keyId}`;
  }
}

/** One budget per principal across every route of the bucket, not one per route. */
const perPrincipal = {
  getTracker: (request: Record<string, any>) => principalKey(request as FastifyRequest),
  generateKey: (_context: ExecutionContext, tracker: string, name: string) => `${name}:${tracker}`,
};

export function rateLimitOptions(config: AppConfig): ThrottlerModuleOptions {
  const only = (bucket: RateLimitBucket) => (context: ExecutionContext) => bucketOf(context) !== bucket;
  return {
    setHeaders: false,
    storage: new SlidingWindowStorage(),
    throttlers: [
      { name: 'auth', ttl: 60_000, limit: config.authRateLimitPerMinute, blockDuration: 0, skipIf: only('auth') },
      { name: 'writes', ttl: 60_000, limit: config.writeRateLimitPerMinute, blockDuration: 0, skipIf: only('writes'), ...perPrincipal },
      {
        name: 'heartbeats', ttl: config.heartbeatIntervalSeconds * 1000, limit: config.heartbeatRateLimit, blockDuration: 0,
        skipIf: only('heartbeats'), ...perPrincipal,
      },
    ],
  };
}

/**
 * Refuses a request beyond its bucket's budget with 429 and Retry-After (when the oldest counted request leaves the
 * window). With blockDuration 0 a refused request costs nothing, so a client that waits as told gets through.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    throw new RetryLaterException(HttpStatus.TOO_MANY_REQUESTS, 'too many requests: retry after the time in Retry-After', detail.timeToBlockExpire);
  }
}
