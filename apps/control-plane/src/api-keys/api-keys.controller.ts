import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import { ApiKeyCreatedView, ApiKeyView, CreateApiKeyDto } from '@meshgate/contracts';
import { ADMINS, Allow } from '../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../auth/current-principal.decorator';
import { Principal } from '../auth/principal';
import { CommandMeta } from '../common/command-meta';
import { RequestMeta } from '../common/request-meta.decorator';
import { UUID_PARAM } from '../common/uuid-param';
import { ApiKeysReadModel } from './api-keys.read-model';
import { CreateApiKeyCommand } from './commands/create-api-key.command';
import { RevokeApiKeyCommand } from './commands/revoke-api-key.command';
import { ApiAnswer } from '../openapi/api-answer.decorator';

/** API keys for automation: `Authorization: Bearer mga.<id>.<secret>`, tenant-scoped, with a role, expiring. */
@ApiTags('api-keys')
@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(private readonly commands: CommandBus, private readonly keys: ApiKeysReadModel) {}

  @Post()
  @Allow({ tenant: ADMINS })
  @ApiAnswer(201, 'ApiKeyCreatedView', 'Created: `key` is shown this once')
  create(@Body() dto: CreateApiKeyDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta): Promise<ApiKeyCreatedView> {
    if (p.kind !== 'user' || !p.role) throw new Error('guarded');
    return this.commands.execute(new CreateApiKeyCommand(tenantOf(p), p.userId, p.role, dto, meta));
  }

  @Get()
  @Allow({ tenant: ADMINS })
  @ApiAnswer(200, ['ApiKeyView'])
  async list(@CurrentPrincipal() p: Principal): Promise<ApiKeyView[]> {
    return (await this.keys.list(tenantOf(p))).map((k) => ({
      id: k.id, description: k.description, role: k.state.role, createdBy: k.state.createdBy, createdAt: k.createdAt,
      expiresAt: k.state.expiresAt, revoked: k.state.revoked,
    }));
  }

  @Delete(':id')
  @HttpCode(204)
  @Allow({ tenant: ADMINS })
  @ApiAnswer(204, null, 'Revoked')
  async revoke(@Param('id', UUID_PARAM) id: string, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta): Promise<void> {
    if (p.kind !== 'user' || !p.role) throw new Error('guarded');
    await this.commands.execute(new RevokeApiKeyCommand(tenantOf(p), id, p.role, meta));
  }
}
