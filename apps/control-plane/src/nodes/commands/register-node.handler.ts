import { ForbiddenException, Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import {
  decideEnrollmentKey, decideNode, DomainError, Event, NodeRegistered, streams,
} from '@meshgate/domain';
import type { RegisteredNode } from '@meshgate/contracts';
import { tenantOf } from '../../auth/current-principal.decorator';
import { formatCredential, hashSecret, newSecret, NODE_TOKEN_PREFIX } from '../../auth/secrets';
import { KeyedMutex } from '../../common/keyed-mutex';
import { EnrollmentKeysReadModel } from '../../enrollment-keys/enrollment-keys.read-model';
import { EVENT_STORE, EventStore, StreamAppend } from '../../event-store/event-store.port';
import { ADDRESS_KEY } from '../../projections/node-identities.inline';
import { NodesView } from '../../projections/nodes.view';
import { ViewFeeder } from '../../projections/view-feeder';
import { UniqueViolationError } from '../../storage/database.port';
import { RegisterNodeCommand } from './register-node.command';

const MAX_ATTEMPTS = 5;

@CommandHandler(RegisterNodeCommand)
export class RegisterNodeHandler implements ICommandHandler<RegisterNodeCommand, RegisteredNode> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly nodes: NodesView,
    private readonly keys: EnrollmentKeysReadModel,
    private readonly locks: KeyedMutex,
    private readonly views: ViewFeeder,
  ) {}

  async execute(command: RegisterNodeCommand): Promise<RegisteredNode> {
    const tenantId = tenantOf(command.principal);
    // Public keys, names and addresses are unique per tenant: one registration at a time per tenant in this replica
    // (the fast path); the node-identities unique indexes are the guarantee across replicas.
    return this.locks.run(`tenant-nodes:${tenantId}`, async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.register(command, tenantId);
        } catch (error) {
          // Another replica allocated the next address first: catch up and take the one after it.
          if (!(error instanceof UniqueViolationError && error.key === ADDRESS_KEY) || attempt >= MAX_ATTEMPTS) throw error;
          await this.views.catchUp();
        }
      }
    });
  }

  private async register({ dto, principal, meta }: RegisterNodeCommand, tenantId: string): Promise<RegisteredNode> {
    const now = new Date();
    const nodeId = randomUUID();
    const secret = newSecret();
    const appends: StreamAppend[] = [];
    let tags = dto.tags ?? [];
    let enrollmentKeyId: string | undefined;

    if (principal.kind === 'enrollment') {
      const key = await this.keys.find(principal.keyId);
      if (!key) throw new DomainError('ENROLLMENT_KEY_INVALID', 'UNAUTHORIZED', 'invalid or expired enrollment key');
      // Tags grant access: a node enrolled with a key gets the key's tags and cannot claim others.
      const extra = tags.filter((t) => !key.state.tags.includes(t));
      if (extra.length) throw new ForbiddenException(`tags not granted by this enrollment key: ${extra.join(', ')}`);
      tags = key.state.tags;
      enrollmentKeyId = key.id;
      const used = decideEnrollmentKey({ type: 'UseEnrollmentKey', nodeId }, key.state, { now });
      appends.push({ streamId: streams.enrollmentKey(key.id), expectedVersion: key.version, events: used });
    }

    const events = decideNode({
      type: 'RegisterNode', nodeId, tenantId, name: dto.name, publicKey: dto.publicKey, endpoint: dto.endpoint,
      listenPort: dto.listenPort, tags, tokenHash: hashSecret(secret), enrollmentKeyId,
      tenant: this.nodes.tenantIndex(tenantId),
      advertisedRoutes: dto.advertiseRoutes, exitNode: dto.exitNode,
    }, { status: 'absent', lastSeenAt: null, endpoint: null }, { now });
    appends.unshift({ streamId: streams.node(nodeId), expectedVersion: 0, events: events as Event[] });

    await this.store.append({ tenantId, streams: appends, metadata: { ...meta, actor: principal.kind === 'enrollment' ? { kind: 'node', id: nodeId } : meta.actor } });
    const registered = (events[0] as NodeRegistered).data;
    return {
      id: nodeId, name: registered.name, publicKey: registered.publicKey, address: registered.address,
      tags: registered.tags, nodeToken: formatCredential(NODE_TOKEN_PREFIX, nodeId, secret),
    };
  }
}
