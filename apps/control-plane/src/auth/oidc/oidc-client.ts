import { HttpStatus, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import { BaseClient, Issuer, Strategy, TokenSet, UserinfoResponse } from 'openid-client';
import { RetryLaterException } from '../../common/retry-later';
import { APP_CONFIG, AppConfig, OidcConfig } from '../../config/app-config';
import { SsoIdentity, ssoIdentity } from './sso-identity';

/** The passport strategy's name, and the key its "session" (the login state cookie's contents) is given under. */
export const OIDC_STRATEGY = 'meshgate-oidc';
export const OIDC_SESSION_KEY = 'meshgate-oidc';

/** How long a client is told to wait when the provider cannot be reached. */
const UNREACHABLE_RETRY_SECONDS = 30;

export interface OidcProvider {
  settings: OidcConfig;
  client: BaseClient;
  /** openid-client's passport strategy over the client: checks state, nonce and PKCE, reads the userinfo, builds the identity. */
  strategy: Strategy<SsoIdentity>;
}

/**
 * The OpenID provider named by OIDC_ISSUER, discovered (`/.well-known/openid-configuration`) on first use rather than
 * at boot, so that the control plane starts while its IdP is down. A failed discovery is not cached: the next request
 * tries again. Discovery and the provider's signing keys are then cached by openid-client (keys are re-fetched when an
 * ID token names one it does not know, as at a key rotation).
 */
@Injectable()
export class OidcClient {
  private readonly logger = new Logger(OidcClient.name);
  private discovery: Promise<OidcProvider> | null = null;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** OIDC's settings; 404 when single sign-on is not configured (as for a route that does not exist). */
  settings(): OidcConfig {
    if (!this.config.oidc) throw new NotFoundException('single sign-on is not configured on this control plane (OIDC_ISSUER)');
    return this.config.oidc;
  }

  /** The discovered provider; 503 with Retry-After when it cannot be reached. */
  async provider(): Promise<OidcProvider> {
    const settings = this.settings();
    if (!this.discovery) {
      this.discovery = this.discover(settings);
      this.discovery.catch(() => { this.discovery = null; });
    }
    try {
      return await this.discovery;
    } catch (error) {
      this.logger.warn(`OpenID provider discovery at ${settings.issuer} failed: ${(error as Error).message}`);
      throw new RetryLaterException(HttpStatus.SERVICE_UNAVAILABLE,
        `the OpenID provider (${settings.issuer}) cannot be reached: ${(error as Error).message}`, UNREACHABLE_RETRY_SECONDS);
    }
  }

  private async discover(settings: OidcConfig): Promise<OidcProvider> {
    const issuer = await Issuer.discover(settings.issuer);
    const client = new issuer.Client({
      client_id: settings.clientId,
      ...(settings.clientSecret !== null
        ? { client_secret: settings.clientSecret, token_endpoint_auth_method: 'client_secret_basic' as const }
        : { token_endpoint_auth_method: 'none' as const }),
      redirect_uris: [settings.redirectUrl],
      response_types: ['code'],
    });
    // Three parameters, so the strategy reads the userinfo too (where providers put the scopes' claims when an access
    // token was issued); without a userinfo endpoint it passes (tokenset, done) and the ID token is all there is.
    const verify = (tokenset: TokenSet, userinfoOrDone: unknown, maybeDone?: (err: unknown, user?: SsoIdentity) => void) => {
      const done = (maybeDone ?? userinfoOrDone) as (err: unknown, user?: SsoIdentity) => void;
      const userinfo = maybeDone ? (userinfoOrDone as UserinfoResponse) : undefined;
      try {
        done(null, ssoIdentity(settings, tokenset.claims(), userinfo));
      } catch (error) {
        done(error);
      }
    };
    const strategy = new Strategy<SsoIdentity>({
      client, sessionKey: OIDC_SESSION_KEY, usePKCE: 'S256', params: { scope: settings.scopes, redirect_uri: settings.redirectUrl },
    }, verify);
    return { settings, client, strategy };
  }
}
