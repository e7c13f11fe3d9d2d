import { applyDecorators } from '@nestjs/common';
import { ApiSecurity } from '@nestjs/swagger';
import type { SecuritySchemeObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import type { Allowed } from '../auth/allow.decorator';

/** One security scheme per kind of credential: all are bearer tokens, told apart by their form. */
export const SECURITY_SCHEMES: Record<string, SecuritySchemeObject> = {
  userToken: {
    type: 'http', scheme: 'bearer', bearerFormat: 'JWT',
    description: 'A user token (POST /api/v1/auth/login without a tenant): the user-level endpoints only.',
  },
  tenantToken: {
    type: 'http', scheme: 'bearer', bearerFormat: 'JWT',
    description: 'A tenant-scoped user token (POST /api/v1/auth/login with `tenantId` or `tenant`): acts in that tenant with the member\'s role.',
  },
  apiKey: {
    type: 'http', scheme: 'bearer', bearerFormat: 'mga.<id>.<secret>',
    description: 'An API key (POST /api/v1/api-keys): acts in its tenant with its role, on behalf of its creator; never on user-level endpoints.',
  },
  nodeToken: {
    type: 'http', scheme: 'bearer', bearerFormat: 'mgn.<nodeId>.<secret>',
    description: 'A node token (answered once by POST /api/v1/nodes): that node\'s own config, stream, heartbeats and key.',
  },
  enrollmentKey: {
    type: 'http', scheme: 'bearer', bearerFormat: 'mgk.<id>.<secret>',
    description: 'An enrollment key (POST /api/v1/enrollment-keys): registers nodes, nothing else.',
  },
};

/** The credentials an @Allow lets in, as alternative security requirements of the operation. */
export function ApiCredentials(allowed: Allowed): MethodDecorator & ClassDecorator {
  const schemes = [
    ...(allowed.user ? ['userToken', 'tenantToken'] : []),
    ...(allowed.tenant ? (allowed.user ? ['apiKey'] : ['tenantToken', 'apiKey']) : []),
    ...(allowed.node ? ['nodeToken'] : []),
    ...(allowed.enrollment ? ['enrollmentKey'] : []),
  ];
  return applyDecorators(...schemes.map((name) => ApiSecurity(name)));
}
