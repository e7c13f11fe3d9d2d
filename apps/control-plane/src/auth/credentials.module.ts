import { Global, Module } from '@nestjs/common';
import passport from 'passport';
import { CredentialsGuard } from './credentials.guard';
import { ApiKeyStrategy } from './strategies/api-key.strategy';
import { CREDENTIALS_PASSPORT } from './strategies/bearer-token.strategy';
import { EnrollmentKeyStrategy } from './strategies/enrollment-key.strategy';
import { NodeTokenStrategy } from './strategies/node-token.strategy';
import { UserJwtStrategy } from './strategies/user-jwt.strategy';

const strategies = [UserJwtStrategy, NodeTokenStrategy, EnrollmentKeyStrategy, ApiKeyStrategy];

/**
 * The Bearer credentials as passport strategies, in an authenticator of this app's own, and the guard over them. Global:
 * every module's controllers guard their routes with `@Allow`, and the guard they instantiate finds the strategies here.
 */
@Global()
@Module({
  providers: [{ provide: CREDENTIALS_PASSPORT, useFactory: () => new passport.Authenticator() }, ...strategies, CredentialsGuard],
  exports: [CREDENTIALS_PASSPORT, ...strategies, CredentialsGuard],
})
export class CredentialsModule {}
