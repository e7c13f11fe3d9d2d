import { DomainError, policyEngine } from '@meshgate/domain';

/** Prefixes as the domain compares them ("10.1.0.7/24" → "10.1.0.0/24"); a malformed one is a 400 naming it. */
export function canonicalRoutes(routes: readonly string[] | undefined): string[] | undefined {
  if (!routes) return undefined;
  return routes.map((r) => {
    const canonical = policyEngine.canonicalPrefix(r);
    if (!canonical || !r.includes('/')) throw new DomainError('ROUTE_INVALID', 'INVALID', `${r} is not an IP prefix`);
    return canonical;
  });
}
