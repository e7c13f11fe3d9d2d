import { Body, Controller, Get, HttpCode, Post, Req, UnauthorizedException, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import {
  CreateTenantDto, LoginDto, LoginResponse, RegisterUserDto, TenantMembershipView, TenantView, UserView,
} from '@meshgate/contracts';
import type { FastifyRequest } from 'fastify';
import { normalizeEmail } from '@meshgate/domain';
import { CommandMeta } from '../common/command-meta';
import { SecurityLog } from '../logging/security-log';
import { RequestMeta } from '../common/request-meta.decorator';
import { RateLimit, RateLimitGuard } from '../rate-limits/rate-limit.guard';
import { Allow } from './allow.decorator';
import { AuthService } from './auth.service';
import { CreateTenantCommand } from './commands/create-tenant.command';
import { RegisterUserCommand } from './commands/register-user.command';
import { CurrentPrincipal } from './current-principal.decorator';
import { DirectoryReadModel } from './directory.read-model';
import { Principal } from './principal';
import { ApiAnswer, ApiRefusals } from '../openapi/api-answer.decorator';

@ApiTags('auth')
@Controller('api/v1/auth')
export class AuthController {
  constructor(
    private readonly commands: CommandBus,
    private readonly auth: AuthService,
    private readonly directory: DirectoryReadModel,
    private readonly security: SecurityLog,
  ) {}

  @Post('register')
  @RateLimit('auth')
  @UseGuards(RateLimitGuard)
  @ApiAnswer(201, 'UserView', 'Registered')
  @ApiRefusals({ 403: 'Registration is by invitation (REGISTRATION_BY_INVITATION)', 409: 'The email is taken (EMAIL_TAKEN)' })
  register(@Body() dto: RegisterUserDto, @RequestMeta() meta: CommandMeta): Promise<UserView> {
    return this.commands.execute(new RegisterUserCommand(dto.email, dto.password, meta));
  }

  @Post('login')
  @HttpCode(200)
  @RateLimit('auth')
  @UseGuards(RateLimitGuard)
  @ApiAnswer(200, 'LoginResponse')
  @ApiRefusals({ 401: 'Wrong email or password, or no such tenant of the user', 409: 'Two of the user\'s tenants have that name: log in with tenantId' })
  async login(@Body() dto: LoginDto, @Req() request: FastifyRequest): Promise<LoginResponse> {
    try {
      return await this.auth.login(dto.email, dto.password, { tenantId: dto.tenantId, tenant: dto.tenant });
    } catch (error) {
      // The account tried is logged (an email, never the password); too many failures are logged as a rate limit.
      if (error instanceof UnauthorizedException) this.security.record('auth.login_failed', request, { account: normalizeEmail(dto.email) });
      throw error;
    }
  }

  @Post('tenants')
  @Allow({ user: true })
  @ApiAnswer(201, 'TenantView', 'Created; the caller is its owner')
  createTenant(@Body() dto: CreateTenantDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta): Promise<TenantView> {
    if (p.kind !== 'user') throw new Error('guarded');
    return this.commands.execute(new CreateTenantCommand(dto.name, p.userId, meta));
  }

  @Get('tenants')
  @Allow({ user: true })
  @ApiAnswer(200, ['TenantMembershipView'])
  async tenants(@CurrentPrincipal() p: Principal): Promise<TenantMembershipView[]> {
    if (p.kind !== 'user') throw new Error('guarded');
    return (await this.directory.memberships(p.userId)).map((m) => ({ id: m.tenantId, name: m.tenantName, role: m.role }));
  }
}
