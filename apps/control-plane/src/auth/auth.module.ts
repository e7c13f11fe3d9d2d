import { Module } from '@nestjs/common';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { CreateTenantHandler } from './commands/create-tenant.handler';
import { RegisterUserHandler } from './commands/register-user.handler';
import { LoginFailures } from './login-failures';

export const authHandlers = [RegisterUserHandler, CreateTenantHandler];

@Module({ controllers: [AuthController], providers: [AuthService, LoginFailures, ...authHandlers] })
export class AuthModule {}
