import { PassportStrategy } from '@nestjs/passport';
import passport from 'passport';
import type { Principal } from '../principal';

/** Passport's strategies for this app's credentials, each registered in the app's own authenticator (see below). */
export const CREDENTIALS_PASSPORT = Symbol('CREDENTIALS_PASSPORT');
export type CredentialsPassport = passport.Authenticator;

/** A Bearer credential's shape: what the guard and the strategies read from `Authorization: Bearer …`. */
export function bearerToken(request: { headers: Record<string, unknown> }): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return null;
  return header.slice(7).trim();
}

type Verify = (token: string, done: (error: unknown, principal?: Principal | null | false) => void) => void;

/**
 * A minimal passport strategy over passport's own `Strategy` (passport-strategy): it reads the Bearer token and hands
 * it to its verify callback (@nestjs/passport's, which calls the subclass's `validate`); a principal is `success`, no
 * principal is `fail`, a thrown error (a 401 naming why, a storage fault) is `error` and reaches the client as it is.
 */
export class BearerTokenStrategy extends passport.Strategy {
  // Plain properties, not #private ones: passport runs each request on `Object.create(strategy)`, which inherits these.
  constructor(readonly authenticator: CredentialsPassport, readonly verifyBearer: Verify) {
    super();
  }

  override authenticate(request: unknown): void {
    const token = bearerToken(request as { headers: Record<string, unknown> });
    if (token === null) return this.fail(401);
    this.verifyBearer(token, (error, principal) => {
      if (error) return this.error(error as Error);
      if (!principal) return this.fail(401);
      this.success(principal);
    });
  }
}

/**
 * @nestjs/passport's mixin over the Bearer strategy. It registers the strategy under `name` in this app's authenticator
 * rather than passport's process-wide one: a process may hold several control planes (the replica tests), and each
 * must check tokens against its own views.
 */
export function CredentialStrategy(name: string) {
  abstract class Registered extends PassportStrategy(BearerTokenStrategy, name) {
    getPassportInstance(): CredentialsPassport {
      return this.authenticator;
    }
  }
  return Registered;
}
