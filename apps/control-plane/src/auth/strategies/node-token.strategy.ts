import { Inject, Injectable } from '@nestjs/common';
import { NodesView } from '../../projections/nodes.view';
import { ViewFeeder } from '../../projections/view-feeder';
import { Principal } from '../principal';
import { NODE_TOKEN_PREFIX, parseCredential, secretMatches } from '../secrets';
import { CREDENTIALS_PASSPORT, CredentialsPassport, CredentialStrategy } from './bearer-token.strategy';
import { fresh } from './fresh';

export const NODE_TOKEN_STRATEGY = 'meshgate-node-token';

/**
 * A node token `mgn.<nodeId>.<secret>`: a live node whose token hash the secret matches (constant time). A node just
 * registered through another replica is found once this replica's views catch up. Node requests are the hot path:
 * they do not otherwise catch up (heartbeats that lose a race decide again).
 */
@Injectable()
export class NodeTokenStrategy extends CredentialStrategy(NODE_TOKEN_STRATEGY) {
  constructor(
    @Inject(CREDENTIALS_PASSPORT) authenticator: CredentialsPassport,
    private readonly nodes: NodesView,
    private readonly views: ViewFeeder,
  ) {
    super(authenticator);
  }

  async validate(token: string): Promise<Principal | null> {
    const credential = parseCredential(token, NODE_TOKEN_PREFIX);
    const node = credential && (await fresh(this.views, () => this.nodes.findLive(credential.id)));
    if (!credential || !node || !secretMatches(credential.secret, node.tokenHash)) return null;
    return { kind: 'node', nodeId: node.id, tenantId: node.tenantId };
  }
}
