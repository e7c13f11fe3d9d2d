import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Principal } from '../auth/principal';
import { MetricsService } from '../metrics/metrics.service';
import { requestFields } from './request-fields';
import { ROOT_LOGGER } from './root-logger';

/**
 * The stable names of security events, in the `event` field of their `warn` lines (alert on these, not on `msg`):
 * - `auth.login_failed`: a wrong email or password (also a single sign-on account's password login);
 * - `auth.token_refused`: a Bearer credential that is invalid, expired, revoked or of a removed member (401);
 * - `auth.access_denied`: a valid credential used where its kind or role may not act (403);
 * - `rate_limit.exceeded`: a client over one of its budgets (429: the throttler's buckets, failed logins per account,
 *   config streams per node);
 * - `policy.refused`: a policy change refused (invalid document, failing tests, stale If-Match, tag ownership).
 */
export type SecurityEvent = 'auth.login_failed' | 'auth.token_refused' | 'auth.access_denied' | 'rate_limit.exceeded' | 'policy.refused';

type Request = FastifyRequest & { principal?: Principal };

const MESSAGES: Record<SecurityEvent, string> = {
  'auth.login_failed': 'login failed',
  'auth.token_refused': 'credential refused',
  'auth.access_denied': 'access denied',
  'rate_limit.exceeded': 'rate limit exceeded',
  'policy.refused': 'policy change refused',
};

@Injectable()
export class SecurityLog {
  constructor(@Inject(ROOT_LOGGER) private readonly logger: Logger, private readonly metrics: MetricsService) {}

  /**
   * Writes the event with what the request says of the caller (never its credential) and counts it in
   * `meshgate_security_events_total{event}`.
   */
  record(event: SecurityEvent, request: Request, fields: Record<string, unknown> = {}): void {
    this.metrics.securityEvents.inc({ event });
    if (this.logger.isLevelEnabled('warn')) this.logger.warn({ event, ...requestFields(request), ...fields }, MESSAGES[event]);
  }
}
