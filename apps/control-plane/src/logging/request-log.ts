import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { requestFields } from './request-fields';

/**
 * Routes whose successes come by the thousand per second (heartbeats) or every few seconds from a load balancer
 * (health checks): logged at debug when they succeed, so `info` stays readable and the hot path writes nothing.
 */
const QUIET_ROUTES = new Set(['/api/v1/nodes/:id/heartbeat', '/health', '/health/live', '/health/ready']);

/**
 * One line per answered request (a config stream's when it ends): method, route pattern, status, duration, client,
 * principal kind and tenant. Server errors at `error`, the rest at `info`. The level is checked before anything is
 * built, so a line that is not written costs nothing.
 */
export function logRequests(fastify: FastifyInstance, logger: Logger): void {
  fastify.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const level = status >= 500 ? 'error' : status < 400 && QUIET_ROUTES.has(request.routeOptions.url ?? '') ? 'debug' : 'info';
    if (logger.isLevelEnabled(level)) {
      logger[level]({ ...requestFields(request), status, durationMs: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
    }
    done();
  });
}
