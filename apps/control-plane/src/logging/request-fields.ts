import type { FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal';

/** Who called, as a log says it: the credential's kind, never the credential. */
export type PrincipalKind = 'user' | 'api-key' | 'node' | 'enrollment-key';

export function principalKind(p: Principal | undefined): PrincipalKind | undefined {
  if (!p) return undefined;
  switch (p.kind) {
    case 'user': return p.apiKeyId ? 'api-key' : 'user';
    case 'node': return 'node';
    case 'enrollment': return 'enrollment-key';
  }
}

/**
 * What every request and security log line says about the request: the route's pattern (never the URL, whose query
 * may hold a secret such as an OIDC code), the client address (TRUST_PROXY applied), the principal's kind and tenant.
 * Headers are never read here: Authorization holds the token.
 */
export function requestFields(request: FastifyRequest & { principal?: Principal }): Record<string, string | undefined> {
  return {
    reqId: String(request.id),
    method: request.method,
    route: request.routeOptions.url ?? 'unmatched',
    client: request.ip,
    principal: principalKind(request.principal),
    tenant: request.principal?.tenantId ?? undefined,
  };
}
