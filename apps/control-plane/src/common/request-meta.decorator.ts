import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { actorOf, Principal } from '../auth/principal';
import { CommandMeta } from './command-meta';

/** Command metadata from the request: the authenticated actor, the request id and an optional correlation id. */
export const RequestMeta = createParamDecorator((_: unknown, context: ExecutionContext): CommandMeta => {
  const request = context.switchToHttp().getRequest<FastifyRequest & { principal?: Principal }>();
  const correlation = request.headers['x-correlation-id'];
  return {
    actor: request.principal ? actorOf(request.principal) : { kind: 'system', id: 'anonymous' },
    requestId: String(request.id),
    correlationId: typeof correlation === 'string' && correlation.length <= 128 ? correlation : undefined,
    sourceAddress: unmapped(request.ip),
  };
});

/** `::ffff:198.51.100.7` (an IPv4 client on a dual-stack socket) as `198.51.100.7`. */
const unmapped = (ip: string | undefined): string | undefined => (ip?.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip);
