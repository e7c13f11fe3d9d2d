import { Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import {
  CreateTenantDto, LoginDto, LoginResponse, RegisterUserDto, TenantMembershipView, TenantView, UserView,
} from '@meshgate/contracts';
import { CommandMeta } from '../common/command-meta';
import { RequestMeta } from '../common/request-meta.decorator';
import { RateLimit, RateLimitGuard } from '../rate-limits/rate-limit.guard';
import { Allow } from './allow.decorator';
import { AuthService } from './auth.service';
import { CreateTenantCommand } from './commands/create-tenant.command';
import { RegisterUserCommand } from './commands/register-user.command';
import { CurrentPrincipal } from './current-principal.decorator';
import { DirectoryReadModel } from './directory.read-model';
import { Principal } from './principal';

@ApiTags('auth')
@Controller('api/v1/auth')
export class AuthController {
  constructor(
    private readonly commands: CommandBus,
    private readonly auth: AuthService,
    private readonly directory: DirectoryReadModel,
  ) {}

  @Post('register')
  @RateLimit('auth')
  @UseGuards(RateLimitGuard)
  register(@Body() dto: RegisterUserDto, @RequestMeta() meta: CommandMeta): Promise<UserView> {
    return this.commands.execute(new RegisterUserCommand(dto.email, dto.password, meta));
  }

  @Post('login')
  @HttpCode(200)
  @RateLimit('auth')
  @UseGuards(RateLimitGuard)
  login(@Body() dto: LoginDto): Promise<LoginResponse> {
    return this.auth.login(dto.email, dto.password, { tenantId: dto.tenantId, tenant: dto.tenant });
  }

  @Post('tenants')
  @Allow({ user: true })
  createTenant(@Body() dto: CreateTenantDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta): Promise<TenantView> {
    if (p.kind !== 'user') throw new Error('guarded');
    return this.commands.execute(new CreateTenantCommand(dto.name, p.userId, meta));
  }

  @Get('tenants')
  @Allow({ user: true })
  async tenants(@CurrentPrincipal() p: Principal): Promise<TenantMembershipView[]> {
    if (p.kind !== 'user') throw new Error('guarded');
    return (await this.directory.memberships(p.userId)).map((m) => ({ id: m.tenantId, name: m.tenantName, role: m.role }));
  }
}
