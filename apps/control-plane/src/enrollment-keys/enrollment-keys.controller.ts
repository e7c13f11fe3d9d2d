import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import { CreateEnrollmentKeyDto, EnrollmentKeyCreated, EnrollmentKeyView } from '@meshgate/contracts';
import { ADMINS, Allow } from '../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../auth/current-principal.decorator';
import { Principal } from '../auth/principal';
import { CommandMeta } from '../common/command-meta';
import { RequestMeta } from '../common/request-meta.decorator';
import { UUID_PARAM } from '../common/uuid-param';
import { CreateEnrollmentKeyCommand } from './commands/create-enrollment-key.command';
import { RevokeEnrollmentKeyCommand } from './commands/revoke-enrollment-key.command';
import { EnrollmentKeysReadModel } from './enrollment-keys.read-model';
import { ApiAnswer } from '../openapi/api-answer.decorator';

@ApiTags('enrollment-keys')
@Controller('api/v1/enrollment-keys')
export class EnrollmentKeysController {
  constructor(private readonly commands: CommandBus, private readonly keys: EnrollmentKeysReadModel) {}

  @Post()
  @Allow({ tenant: ADMINS })
  @ApiAnswer(201, 'EnrollmentKeyCreated', 'Created: `key` is shown this once')
  create(@Body() dto: CreateEnrollmentKeyDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta): Promise<EnrollmentKeyCreated> {
    return this.commands.execute(new CreateEnrollmentKeyCommand(tenantOf(p), dto, meta, p));
  }

  @Get()
  @Allow({ tenant: ADMINS })
  @ApiAnswer(200, ['EnrollmentKeyView'])
  async list(@CurrentPrincipal() p: Principal): Promise<EnrollmentKeyView[]> {
    return (await this.keys.list(tenantOf(p))).map((k) => ({
      id: k.id, reusable: k.state.reusable, expiresAt: k.state.expiresAt, tags: k.state.tags, createdBy: k.state.createdBy ?? null, uses: k.uses,
      ephemeral: k.state.ephemeral === true,
      revoked: k.state.revoked, createdAt: k.createdAt,
    }));
  }

  @Delete(':id')
  @HttpCode(204)
  @Allow({ tenant: ADMINS })
  @ApiAnswer(204, null, 'Revoked')
  async revoke(@Param('id', UUID_PARAM) id: string, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta): Promise<void> {
    await this.commands.execute(new RevokeEnrollmentKeyCommand(tenantOf(p), id, meta));
  }
}
