import { BadGatewayException, ForbiddenException } from '@nestjs/common';
import type { OidcConfig } from '../../config/app-config';
import { ssoIdentity } from './sso-identity';

const settings: OidcConfig = {
  issuer: 'https://idp.example.com', clientId: 'meshgate', clientSecret: null, allowedDomains: ['example.com'],
  redirectUrl: 'https://meshgate.example.com/api/v1/auth/oidc/callback', scopes: 'openid email', groupsClaim: 'groups',
};
const idToken = { iss: 'https://idp.example.com', sub: 'u-1' };
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a refusal');
};

describe('ssoIdentity', () => {
  it('takes the email from the ID token when it has one, else from the userinfo, normalised', () => {
    expect(ssoIdentity(settings, { ...idToken, email: 'A@Example.COM', email_verified: true }, { email: 'other@example.com', email_verified: true }))
      .toEqual({ issuer: 'https://idp.example.com', subject: 'u-1', email: 'a@example.com', groups: [] });
    expect(ssoIdentity(settings, idToken, { email: 'b@example.com', email_verified: 'true' }).email).toBe('b@example.com');
  });

  it('reads email_verified from where the email came from', () => {
    const error = refusal(() => ssoIdentity(settings, { ...idToken, email: 'a@example.com' }, { email_verified: true }));
    expect(error).toBeInstanceOf(ForbiddenException);
    expect(error.message).toBe('the OpenID provider has not verified the email a@example.com (email_verified is not true)');
  });

  it('refuses no email, and a domain not listed (a subdomain is another domain); * allows any', () => {
    expect(refusal(() => ssoIdentity(settings, idToken, {})).message).toBe('the OpenID provider sent no email claim: ask for the email scope (OIDC_SCOPES)');
    const sub = refusal(() => ssoIdentity(settings, { ...idToken, email: 'a@eng.example.com', email_verified: true }, undefined));
    expect(sub).toBeInstanceOf(ForbiddenException);
    expect(sub.message).toBe('the email domain eng.example.com may not sign in here (OIDC_ALLOWED_DOMAINS)');
    expect(ssoIdentity({ ...settings, allowedDomains: '*' }, { ...idToken, email: 'a@anywhere.test', email_verified: true }, undefined).email).toBe('a@anywhere.test');
  });

  it('reads groups from the ID token, else the userinfo: absent is none, a string is one group', () => {
    const verified = { ...idToken, email: 'a@example.com', email_verified: true };
    expect(ssoIdentity(settings, { ...verified, groups: ['eng'] }, { groups: ['ops'] }).groups).toEqual(['eng']);
    expect(ssoIdentity(settings, verified, { groups: ['ops'] }).groups).toEqual(['ops']);
    expect(ssoIdentity(settings, verified, { groups: 'ops' }).groups).toEqual(['ops']);
    expect(ssoIdentity(settings, verified, {}).groups).toEqual([]);
    expect(ssoIdentity({ ...settings, groupsClaim: 'roles' }, { ...verified, groups: ['x'], roles: ['admins'] }, undefined).groups).toEqual(['admins']);
    // A claim name that is an Object.prototype member is read only as the token's own claim.
    expect(ssoIdentity({ ...settings, groupsClaim: 'constructor' }, verified, {}).groups).toEqual([]);
  });

  it('answers 502 naming the claim when the provider sends groups that are not names', () => {
    const verified = { ...idToken, email: 'a@example.com', email_verified: true };
    for (const groups of [[1], [''], { eng: true }, ['x'.repeat(257)]]) {
      const error = refusal(() => ssoIdentity(settings, { ...verified, groups }, undefined));
      expect(error).toBeInstanceOf(BadGatewayException);
      expect(error.message).toMatch(/^the OpenID provider's "groups" claim \(OIDC_GROUPS_CLAIM\) must be a list/);
    }
  });
});
