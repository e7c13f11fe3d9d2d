import { ForbiddenException, NotFoundException } from '@nestjs/common';
import { NodesView } from '../projections/nodes.view';
import { tenantOf } from './current-principal.decorator';
import { Principal } from './principal';

/**
 * A node token is good for its own node only; a tenant token for its tenant's nodes. Others see 404/403.
 * Checked in the handler rather than the guard: the guard runs before the :id pipe, and a malformed id must be a 400.
 */
export function assertNodeAccess(p: Principal, nodeId: string, nodes: NodesView): void {
  if (p.kind === 'node') {
    if (p.nodeId !== nodeId) throw new ForbiddenException('a node token is valid for its own node only');
    return;
  }
  if (!nodes.find(tenantOf(p), nodeId)) throw new NotFoundException('node not found');
}
