import { BadGatewayException, ForbiddenException } from '@nestjs/common';
import { normalizeEmail } from '@meshgate/domain';
import type { OidcConfig } from '../../config/app-config';

/** Who the provider vouched for: what SignInSsoCommand is given. */
export interface SsoIdentity {
  /** The ID token's `iss` (openid-client has checked it is the discovered issuer). */
  issuer: string;
  subject: string;
  email: string;
  groups: string[];
}

type Claims = Record<string, unknown>;

const MAX_GROUPS = 1000;
const MAX_GROUP_LENGTH = 256;

/**
 * The identity in a verified ID token (and the userinfo, when read): refused with 403 when the provider has not
 * verified the email or its domain is not in OIDC_ALLOWED_DOMAINS. A claim is taken from the ID token when it has it,
 * else from the userinfo (providers put scope claims in one or the other). `email_verified` is read from where the
 * email came from. The groups claim (OIDC_GROUPS_CLAIM) may be absent (no groups), a string or a list of strings.
 */
export function ssoIdentity(settings: OidcConfig, idToken: Claims, userinfo: Claims | undefined): SsoIdentity {
  const fromIdToken = typeof idToken.email === 'string';
  const emailSource = fromIdToken ? idToken : userinfo ?? {};
  const rawEmail = emailSource.email;
  if (typeof rawEmail !== 'string' || !rawEmail.includes('@')) {
    throw new ForbiddenException('the OpenID provider sent no email claim: ask for the email scope (OIDC_SCOPES)');
  }
  const email = normalizeEmail(rawEmail);
  const verified = emailSource.email_verified;
  if (verified !== true && verified !== 'true') {
    throw new ForbiddenException(`the OpenID provider has not verified the email ${email} (email_verified is not true)`);
  }
  const domain = email.slice(email.lastIndexOf('@') + 1);
  if (settings.allowedDomains !== '*' && !settings.allowedDomains.includes(domain)) {
    throw new ForbiddenException(`the email domain ${domain} may not sign in here (OIDC_ALLOWED_DOMAINS)`);
  }
  return { issuer: String(idToken.iss), subject: String(idToken.sub), email, groups: groupsOf(settings.groupsClaim, idToken, userinfo) };
}

function groupsOf(claim: string, idToken: Claims, userinfo: Claims | undefined): string[] {
  const own = (claims: Claims | undefined) => claims !== undefined && Object.prototype.hasOwnProperty.call(claims, claim);
  const value = own(idToken) ? idToken[claim] : own(userinfo) ? userinfo![claim] : undefined;
  if (value === undefined || value === null) return [];
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.some((g) => typeof g !== 'string' || g === '' || g.length > MAX_GROUP_LENGTH) || list.length > MAX_GROUPS) {
    throw new BadGatewayException(
      `the OpenID provider's "${claim}" claim (OIDC_GROUPS_CLAIM) must be a list of at most ${MAX_GROUPS} group names of 1 to ${MAX_GROUP_LENGTH} characters`);
  }
  return list as string[];
}
