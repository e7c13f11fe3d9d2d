import { BadRequestException, Body, Controller, Delete, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import { RelayPath, RequestRelayPathDto, WG_KEY_PATTERN } from '@meshgate/contracts';
import { Allow } from '../auth/allow.decorator';
import { CurrentPrincipal, tenantOf } from '../auth/current-principal.decorator';
import { assertNodeAccess } from '../auth/node-access';
import { Principal } from '../auth/principal';
import { CommandMeta } from '../common/command-meta';
import { RequestMeta } from '../common/request-meta.decorator';
import { UUID_PARAM } from '../common/uuid-param';
import { NodesView } from '../projections/nodes.view';
import { RelayPathCommand } from './relay-path.command';
import { ApiAnswer, ApiRefusals } from '../openapi/api-answer.decorator';

/**
 * A node whose direct path to a peer fails asks for a relay path (both sides get it in their configs, the relay its
 * forward); when the direct path works again it gives the path up. With the node's own token.
 */
@ApiTags('nodes')
@Controller('api/v1/nodes')
export class RelayPathsController {
  constructor(private readonly commands: CommandBus, private readonly nodes: NodesView) {}

  @Post(':id/relay-paths')
  @HttpCode(200)
  @Allow({ node: true })
  @ApiAnswer(200, 'RelayPath', 'The path as this node dials it (the same path again if it is open already)')
  @ApiRefusals({ 404: 'No such peer (NOT_A_PEER)', 409: 'No relay can take the pair (NO_RELAY), or a side was never seen (NODE_NOT_SEEN)' })
  open(
    @Param('id', UUID_PARAM) id: string, @Body() dto: RequestRelayPathDto, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta,
  ): Promise<RelayPath> {
    assertNodeAccess(p, id, this.nodes);
    return this.commands.execute(new RelayPathCommand('open', tenantOf(p), id, dto.peer, meta));
  }

  /** `?peer=<public key>`; closing a path that is not open is not an error. */
  @Delete(':id/relay-paths')
  @HttpCode(204)
  @Allow({ node: true })
  @ApiAnswer(204, null, 'Closed (or was not open)')
  async close(
    @Param('id', UUID_PARAM) id: string, @Query('peer') peer: string | undefined, @CurrentPrincipal() p: Principal, @RequestMeta() meta: CommandMeta,
  ): Promise<void> {
    assertNodeAccess(p, id, this.nodes);
    if (typeof peer !== 'string' || !WG_KEY_PATTERN.test(peer)) throw new BadRequestException('peer must be the base64 WireGuard key of one of the node\'s peers');
    await this.commands.execute(new RelayPathCommand('close', tenantOf(p), id, peer, meta));
  }
}
