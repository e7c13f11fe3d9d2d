import { BadRequestException, ExecutionContext, HttpException, HttpStatus, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors } from 'openid-client';
import passport from 'passport';
import { timingSafeEqual } from 'node:crypto';
import { RetryLaterException } from '../../common/retry-later';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { CLOCK, Clock } from '../../policies/clock';
import type { TenantChoice } from '../auth.service';
import { OIDC_SESSION_KEY, OIDC_STRATEGY, OidcClient } from './oidc-client';
import { clearedStateCookie, openState, readStateCookie } from './oidc-state.cookie';

const START_AGAIN = 'start again at GET /api/v1/auth/oidc/login';

/** What the callback handler finds on the request once the guard let it through. */
export type OidcCallbackRequest = FastifyRequest & { user: import('./sso-identity').SsoIdentity; oidcTenant: TenantChoice };

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The callback's authentication: @nestjs/passport's AuthGuard over openid-client's passport strategy. Passport keeps
 * the authorization request in `req.session`; there is no session here, so the guard first opens the signed login
 * state cookie (refusing a missing, forged or expired one, and a `state` that is not the cookie's, with 400) and gives
 * its contents to the strategy as that session. The strategy then redeems the code with the PKCE verifier and checks
 * the ID token (signature, issuer, audience, expiry, nonce) and the userinfo's subject. The cookie is cleared whatever
 * the outcome: a login state is good for one callback.
 */
@Injectable()
export class OidcCallbackGuard extends AuthGuard(OIDC_STRATEGY) {
  constructor(
    private readonly oidc: OidcClient,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const { settings, strategy } = await this.oidc.provider();
    const request = context.switchToHttp().getRequest<FastifyRequest & { session?: unknown; oidcTenant?: TenantChoice }>();
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    reply.header('set-cookie', clearedStateCookie(settings.redirectUrl.startsWith('https:')));
    const raw = readStateCookie(request.headers.cookie);
    if (raw === undefined) throw new BadRequestException(`no sign-in is under way in this browser (the login state cookie is missing): ${START_AGAIN}`);
    const login = openState(this.config.jwtSecret, raw, Math.floor(this.clock.now().getTime() / 1000));
    if (!login) throw new BadRequestException(`the login state cookie is expired or was not issued by this control plane: ${START_AGAIN}`);
    const { state } = request.query as Record<string, unknown>;
    if (typeof state !== 'string' || !sameText(state, login.state)) {
      throw new BadRequestException(`the state parameter does not match this browser's sign-in: ${START_AGAIN}`);
    }
    request.session = { [OIDC_SESSION_KEY]: { state: login.state, nonce: login.nonce, code_verifier: login.codeVerifier, response_type: 'code' } };
    request.oidcTenant = login.tenant;
    // Passport's strategies live in its process-wide registry; (re-)registering this app's just before use keeps a
    // process with two control planes (tests) on the right one.
    passport.use(OIDC_STRATEGY, strategy);
    return (await super.canActivate(context)) as boolean;
  }

  /** The strategy's outcome as an HTTP answer: our refusals as they are, the provider's and the protocol's as 401. */
  override handleRequest<T>(err: unknown, user: T, info: unknown): T {
    if (!err && user) return user;
    // A failure is passport's `error` (err) or `fail` (info, the challenge).
    const failure = err ?? info;
    if (failure instanceof HttpException) throw failure;
    if (failure instanceof errors.OPError) {
      throw new UnauthorizedException(`the OpenID provider refused the sign-in: ${failure.error}${failure.error_description ? ` (${failure.error_description})` : ''}`);
    }
    if (failure instanceof errors.RPError) {
      if (/timed out/.test(failure.message)) {
        throw new RetryLaterException(HttpStatus.SERVICE_UNAVAILABLE, `the OpenID provider did not answer in time: ${failure.message}`, 30);
      }
      throw new UnauthorizedException(`the sign-in could not be verified: ${failure.message}`);
    }
    if (failure instanceof Error && typeof (failure as NodeJS.ErrnoException).code === 'string') {
      throw new RetryLaterException(HttpStatus.SERVICE_UNAVAILABLE, `the OpenID provider cannot be reached: ${failure.message}`, 30);
    }
    if (failure instanceof Error) throw failure;
    throw new UnauthorizedException('the sign-in could not be verified');
  }
}
