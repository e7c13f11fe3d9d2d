import { BadRequestException, Controller, Get, Header, Inject, Query, Req, Res, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { generators } from 'openid-client';
import { LoginResponse, OidcLoginQueryDto } from '@meshgate/contracts';
import { CommandMeta } from '../../common/command-meta';
import { RequestMeta } from '../../common/request-meta.decorator';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { CLOCK, Clock } from '../../policies/clock';
import { RateLimit, RateLimitGuard } from '../../rate-limits/rate-limit.guard';
import { AuthService } from '../auth.service';
import { SignInSsoCommand } from '../commands/sign-in-sso.command';
import { OidcCallbackGuard, OidcCallbackRequest } from './oidc-callback.guard';
import { OidcClient } from './oidc-client';
import { OIDC_STATE_TTL_SECONDS, sealState, stateCookie } from './oidc-state.cookie';
import { ApiAnswer, ApiRefusals } from '../../openapi/api-answer.decorator';

/**
 * Single sign-on with an OpenID provider, authorization code flow with PKCE (S256): `login` sends the browser to the
 * provider, the provider sends it back to `callback`, which answers a MeshGate token as the password login does.
 * Both are 404 when OIDC is not configured and 503 while the provider cannot be reached.
 */
@ApiTags('auth')
@Controller('api/v1/auth/oidc')
export class OidcController {
  constructor(
    private readonly oidc: OidcClient,
    private readonly commands: CommandBus,
    private readonly auth: AuthService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** 302 to the provider's authorization endpoint; the request's state, nonce and PKCE verifier go in a signed cookie. */
  @Get('login')
  @RateLimit('auth')
  @UseGuards(RateLimitGuard)
  @ApiAnswer(302, null, 'To the provider\'s authorization endpoint, with the meshgate_oidc cookie')
  @ApiRefusals({ 404: 'Single sign-on is not configured', 503: 'The provider cannot be reached' })
  async login(@Query() query: OidcLoginQueryDto, @Res() reply: FastifyReply): Promise<void> {
    if (query.tenantId !== undefined && query.tenant !== undefined) {
      throw new BadRequestException(['give either tenant (a name) or tenantId, not both']);
    }
    const { settings, client } = await this.oidc.provider();
    const state = generators.state();
    const nonce = generators.nonce();
    const codeVerifier = generators.codeVerifier();
    const url = client.authorizationUrl({
      response_type: 'code',
      redirect_uri: settings.redirectUrl,
      scope: settings.scopes,
      state,
      nonce,
      code_challenge: generators.codeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    });
    const sealed = sealState(this.config.jwtSecret, {
      state, nonce, codeVerifier,
      expiresAt: Math.floor(this.clock.now().getTime() / 1000) + OIDC_STATE_TTL_SECONDS,
      tenant: { ...(query.tenantId !== undefined ? { tenantId: query.tenantId } : {}), ...(query.tenant !== undefined ? { tenant: query.tenant } : {}) },
    });
    await reply
      .code(302)
      .header('set-cookie', stateCookie(sealed, settings.redirectUrl.startsWith('https:')))
      .header('cache-control', 'no-store')
      .header('location', url)
      .send();
  }

  /**
   * The provider's answer: the guard has checked the state, redeemed the code (PKCE), verified the ID token and
   * nonce, read the userinfo and refused a wrong domain or an unverified email (403). The user is provisioned at the
   * first sign-on and their groups recorded; the answer is a LoginResponse, scoped to the tenant asked for at login.
   */
  @Get('callback')
  @Header('cache-control', 'no-store')
  @RateLimit('auth')
  @UseGuards(RateLimitGuard, OidcCallbackGuard)
  @ApiAnswer(200, 'LoginResponse')
  @ApiRefusals({ 400: 'No, forged or expired state cookie: start again at GET /api/v1/auth/oidc/login', 401: 'The provider refused, or the ID token failed its checks', 403: 'Unverified email, or a domain not allowed', 404: 'Single sign-on is not configured', 409: 'The email belongs to a password account (EMAIL_TAKEN)', 503: 'The provider cannot be reached' })
  async callback(@Req() request: OidcCallbackRequest, @RequestMeta() meta: CommandMeta): Promise<LoginResponse> {
    const { issuer, subject, email, groups } = request.user;
    const userId: string = await this.commands.execute(new SignInSsoCommand(issuer, subject, email, groups, meta));
    return this.auth.issue(userId, request.oidcTenant);
  }
}
