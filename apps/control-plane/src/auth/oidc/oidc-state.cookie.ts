import { createHmac, timingSafeEqual } from 'node:crypto';
import type { TenantChoice } from '../auth.service';

/**
 * What a browser carries from `GET /api/v1/auth/oidc/login` to the callback: the authorization request's state, nonce
 * and PKCE verifier (and the tenant the token is to be scoped to), in one short-lived cookie signed with a key derived
 * from the JWT secret. Signed, not encrypted: the browser it sits in is the party signing in, and the signature is
 * what stops anyone from choosing its contents. No server-side session, so any replica can answer the callback.
 */
export interface OidcLoginState {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Unix seconds after which the callback refuses it, whatever the browser kept. */
  expiresAt: number;
  tenant: TenantChoice;
}

export const OIDC_STATE_COOKIE = 'meshgate_oidc';
/** Only the login and callback routes see it. */
export const OIDC_STATE_COOKIE_PATH = '/api/v1/auth/oidc';
/** Time to sign in at the provider. */
export const OIDC_STATE_TTL_SECONDS = 600;

const B64URL = /^[A-Za-z0-9_-]+$/;

function macKey(jwtSecret: string): Buffer {
  // Its own key, so a MAC made here can never pass for a JWT signature (or the reverse).
  return createHmac('sha256', jwtSecret).update('meshgate oidc login state v1').digest();
}

function mac(jwtSecret: string, payload: string): Buffer {
  return createHmac('sha256', macKey(jwtSecret)).update(payload).digest();
}

export function sealState(jwtSecret: string, state: OidcLoginState): string {
  const payload = Buffer.from(JSON.stringify(state)).toString('base64url');
  return `${payload}.${mac(jwtSecret, payload).toString('base64url')}`;
}

/** The state the value carries, or null if it is malformed, not signed with this secret, or expired. */
export function openState(jwtSecret: string, value: string, nowSeconds: number): OidcLoginState | null {
  const [payload, signature, extra] = value.split('.');
  if (extra !== undefined || !payload || !signature || !B64URL.test(payload) || !B64URL.test(signature)) return null;
  const presented = Buffer.from(signature, 'base64url');
  const expected = mac(jwtSecret, payload);
  if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  const s = parsed as Partial<OidcLoginState> | null;
  if (!s || typeof s.state !== 'string' || typeof s.nonce !== 'string' || typeof s.codeVerifier !== 'string'
    || typeof s.expiresAt !== 'number' || typeof s.tenant !== 'object' || s.tenant === null) return null;
  if (s.expiresAt <= nowSeconds) return null;
  return s as OidcLoginState;
}

/** The Set-Cookie header carrying the state (Secure when the callback is served over https). */
export function stateCookie(value: string, secure: boolean): string {
  return [`${OIDC_STATE_COOKIE}=${value}`, `Path=${OIDC_STATE_COOKIE_PATH}`, `Max-Age=${OIDC_STATE_TTL_SECONDS}`, 'HttpOnly', 'SameSite=Lax',
    ...(secure ? ['Secure'] : [])].join('; ');
}

/** The Set-Cookie header removing it: a login state is good for one callback, whatever its outcome. */
export function clearedStateCookie(secure: boolean): string {
  return [`${OIDC_STATE_COOKIE}=`, `Path=${OIDC_STATE_COOKIE_PATH}`, 'Max-Age=0', 'HttpOnly', 'SameSite=Lax', ...(secure ? ['Secure'] : [])].join('; ');
}

/** The cookie's value from a Cookie header, or undefined (the first one, if a confused browser sends several). */
export function readStateCookie(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === OIDC_STATE_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}
