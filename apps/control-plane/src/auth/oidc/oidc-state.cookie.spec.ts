import { OIDC_STATE_COOKIE, OidcLoginState, openState, readStateCookie, sealState } from './oidc-state.cookie';

const SECRET = 'a-jwt-secret-of-at-least-32-characters!!';
const state: OidcLoginState = { state: 's'.repeat(43), nonce: 'n'.repeat(43), codeVerifier: 'v'.repeat(43), expiresAt: 1000, tenant: { tenant: 'acme' } };

describe('the login state cookie', () => {
  it('opens what it sealed, until it expires', () => {
    const sealed = sealState(SECRET, state);
    expect(openState(SECRET, sealed, 999)).toEqual(state);
    expect(openState(SECRET, sealed, 1000)).toBeNull();
  });

  it('refuses another secret, a changed payload or signature, and malformed values', () => {
    const sealed = sealState(SECRET, state);
    const [payload, signature] = sealed.split('.');
    const changed = Buffer.from(JSON.stringify({ ...state, tenant: { tenant: 'other' } })).toString('base64url');
    for (const value of [`${changed}.${signature}`, `${payload}.${signature.slice(0, -2)}AA`, `${payload}.${signature.slice(0, 10)}`, payload, `${sealed}.x`, '', '.']) {
      expect(openState(SECRET, value, 0)).toBeNull();
    }
    expect(openState(`${SECRET}?`, sealed, 0)).toBeNull();
  });

  it('refuses a validly signed value that is not a login state', () => {
    const bogus = sealState(SECRET, { state: 1 } as unknown as OidcLoginState);
    expect(openState(SECRET, bogus, 0)).toBeNull();
  });

  it('is read from a Cookie header among others', () => {
    expect(readStateCookie(`a=1; ${OIDC_STATE_COOKIE}=abc.def; b=2`)).toBe('abc.def');
    expect(readStateCookie('a=1')).toBeUndefined();
    expect(readStateCookie(undefined)).toBeUndefined();
  });
});
