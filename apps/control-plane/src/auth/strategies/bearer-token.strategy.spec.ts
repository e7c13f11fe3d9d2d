import { UnauthorizedException } from '@nestjs/common';
import passport from 'passport';
import type { Principal } from '../principal';
import { bearerToken, CredentialsPassport, CredentialStrategy } from './bearer-token.strategy';

/** A strategy whose tokens are `<tenant>:<delay ms>`, `refuse` (no principal) or `revoked` (a 401 naming why). */
class TestStrategy extends CredentialStrategy('meshgate-test') {
  constructor(authenticator: CredentialsPassport) {
    super(authenticator);
  }

  async validate(token: string): Promise<Principal | null> {
    if (token === 'refuse') return null;
    if (token === 'revoked') throw new UnauthorizedException('revoked');
    const [tenantId, delay] = token.split(':');
    await new Promise((resolve) => setTimeout(resolve, Number(delay)));
    return { kind: 'node', nodeId: `node-of-${tenantId}`, tenantId };
  }
}

interface Outcome { error?: unknown; principal?: unknown; status?: unknown }

function authenticate(authenticator: CredentialsPassport, authorization?: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const request = { headers: authorization === undefined ? {} : { authorization } };
    const middleware = authenticator.authenticate('meshgate-test', { session: false }, (error: unknown, principal: unknown, _info: unknown, status: unknown) =>
      resolve({ error, principal, status })) as (req: unknown, res: unknown, next: (e?: unknown) => void) => void;
    middleware(request, {}, (error) => resolve({ error }));
  });
}

describe('a Bearer credential strategy', () => {
  it('given a Bearer header, when its token validates, then passport succeeds with the principal', async () => {
    const authenticator = new passport.Authenticator();
    new TestStrategy(authenticator);
    expect(await authenticate(authenticator, 'Bearer acme:0')).toEqual({ error: null, principal: { kind: 'node', nodeId: 'node-of-acme', tenantId: 'acme' }, status: undefined });
  });

  it('given no principal or no Bearer header, when authenticating, then passport fails with 401', async () => {
    const authenticator = new passport.Authenticator();
    new TestStrategy(authenticator);
    for (const header of ['Bearer refuse', undefined, 'Basic abc', 'bearer acme:0']) {
      expect(await authenticate(authenticator, header)).toEqual({ error: null, principal: false, status: 401 });
    }
  });

  it('given a validation that throws, when authenticating, then the error reaches the caller as it is', async () => {
    const authenticator = new passport.Authenticator();
    new TestStrategy(authenticator);
    const { error, principal } = await authenticate(authenticator, 'Bearer revoked');
    expect(error).toBeInstanceOf(UnauthorizedException);
    expect((error as UnauthorizedException).message).toBe('revoked');
    expect(principal).toBeFalsy();
  });

  it('given two control planes in one process, then each strategy is registered in its own authenticator only', async () => {
    const [a, b] = [new passport.Authenticator(), new passport.Authenticator()];
    const first = new TestStrategy(a);
    const second = new TestStrategy(b);
    const registry = (x: CredentialsPassport) => (x as unknown as { _strategy(name: string): unknown })._strategy('meshgate-test');
    expect(registry(a)).toBe(first);
    expect(registry(b)).toBe(second);
    expect(registry(passport)).toBeUndefined();
  });

  it('given concurrent requests that finish out of order, then each gets its own principal', async () => {
    const authenticator = new passport.Authenticator();
    new TestStrategy(authenticator);
    const outcomes = await Promise.all([authenticate(authenticator, 'Bearer slow:30'), authenticate(authenticator, 'Bearer fast:0')]);
    expect(outcomes.map((o) => (o.principal as Principal).tenantId)).toEqual(['slow', 'fast']);
  });

  it('reads the token after "Bearer ", trimmed', () => {
    expect(bearerToken({ headers: { authorization: 'Bearer  mgn.x.y ' } })).toBe('mgn.x.y');
    expect(bearerToken({ headers: { authorization: ['Bearer a'] } })).toBeNull();
    expect(bearerToken({ headers: {} })).toBeNull();
  });
});
