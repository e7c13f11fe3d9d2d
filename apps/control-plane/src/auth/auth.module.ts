import { Module } from '@nestjs/common';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { CreateTenantHandler } from './commands/create-tenant.handler';
import { RegisterUserHandler } from './commands/register-user.handler';
import { SignInSsoHandler } from './commands/sign-in-sso.handler';
import { LoginFailures } from './login-failures';
import { OidcCallbackGuard } from './oidc/oidc-callback.guard';
import { OidcClient } from './oidc/oidc-client';
import { OidcController } from './oidc/oidc.controller';

export const authHandlers = [RegisterUserHandler, CreateTenantHandler, SignInSsoHandler];

@Module({ controllers: [AuthController, OidcController], providers: [AuthService, LoginFailures, OidcClient, OidcCallbackGuard, ...authHandlers] })
export class AuthModule {}
