import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { Principal } from './principal';

export const CurrentPrincipal = createParamDecorator(
  (_: unknown, context: ExecutionContext): Principal => context.switchToHttp().getRequest().principal,
);

/** The tenant of a tenant-scoped principal (guards guarantee it exists where tenant access is allowed). */
export function tenantOf(p: Principal): string {
  if (p.kind === 'user') {
    if (!p.tenantId) throw new Error('principal has no tenant');
    return p.tenantId;
  }
  return p.tenantId;
}
