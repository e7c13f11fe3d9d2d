import { Body, Controller, HttpCode, Param, Post, Put } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import { NodeKeyView, NodeView, RotateNodeKeyDto, SetNodeKeyExpiryDto } from '@meshgate/contracts';
import { ADMINS, Allow } from '../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../auth/current-principal.decorator';
import { assertNodeAccess } from '../auth/node-access';
import { Principal } from '../auth/principal';
import { CommandMeta } from '../common/command-meta';
import { RequestMeta } from '../common/request-meta.decorator';
import { UUID_PARAM } from '../common/uuid-param';
import { NodesView } from '../projections/nodes.view';
import { RotateNodeKeyCommand } from './commands/rotate-node-key.command';
import { SetNodeKeyExpiryCommand } from './commands/set-node-key-expiry.command';
import { ApiAnswer, ApiRefusals } from '../openapi/api-answer.decorator';

/** Node keys: the node rotates its own (before expiry, or on demand); an admin may exempt a node from expiry. */
@ApiTags('nodes')
@Controller('api/v1/nodes')
export class NodeKeysController {
  constructor(private readonly commands: CommandBus, private readonly nodes: NodesView) {}

  /** With the node's own token. Rotating to the key it already holds answers the same, appending nothing. */
  @Post(':id/key')
  @HttpCode(200)
  @Allow({ node: true })
  @ApiAnswer(200, 'NodeKeyView')
  @ApiRefusals({ 409: 'Another node of the tenant holds the key (PUBLIC_KEY_TAKEN)' })
  rotate(
    @Param('id', UUID_PARAM) id: string, @Body() dto: RotateNodeKeyDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta,
  ): Promise<NodeKeyView> {
    assertNodeAccess(p, id, this.nodes);
    return this.commands.execute(new RotateNodeKeyCommand(tenantOf(p), id, dto.publicKey, meta));
  }

  @Put(':id/key-expiry')
  @Allow({ tenant: ADMINS })
  @ApiAnswer(200, 'NodeView')
  setExpiry(
    @Param('id', UUID_PARAM) id: string, @Body() dto: SetNodeKeyExpiryDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta,
  ): Promise<NodeView> {
    return this.commands.execute(new SetNodeKeyExpiryCommand(tenantOf(p), id, dto.disabled, meta));
  }
}
