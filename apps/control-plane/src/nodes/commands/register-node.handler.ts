import { Inject } from '@nestjs/common';
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
import { ConcurrencyError } from '../../event-store/concurrency.error';
import { EVENT_STORE, EventStore, StreamAppend } from '../../event-store/event-store.port';
import { NodeConfigView } from '../../projections/node-config.view';
import { ADDRESS_KEY } from '../../projections/node-identities.inline';
import { NodesView } from '../../projections/nodes.view';
import { decideAgainOnRace } from '../../projections/decide-again';
import { ViewFeeder } from '../../projections/view-feeder';
import { CLOCK, Clock } from '../../policies/clock';
import { UniqueViolationError } from '../../storage/database.port';
import { RegistrationReservations } from '../registration-reservations';
import { RegisterNodeCommand } from './register-node.command';

/**
 * Every race lost to another replica is another registration's success, so retrying ends; a burst of registrations
 * through several replicas (a fleet enrolling at once) can lose several in a row.
 */
const MAX_ATTEMPTS = 20;

const lostAddress = (error: unknown) => error instanceof UniqueViolationError && error.key === ADDRESS_KEY;

@CommandHandler(RegisterNodeCommand)
export class RegisterNodeHandler implements ICommandHandler<RegisterNodeCommand, RegisteredNode> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly nodes: NodesView,
    private readonly keys: EnrollmentKeysReadModel,
    private readonly locks: KeyedMutex,
    private readonly views: ViewFeeder,
    private readonly configs: NodeConfigView,
    private readonly reservations: RegistrationReservations,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(command: RegisterNodeCommand): Promise<RegisteredNode> {
    const tenantId = tenantOf(command.principal);
    return decideAgainOnRace(this.views, () => this.register(command, tenantId), {
      attempts: MAX_ATTEMPTS,
      // Another replica allocated the address first (this replica then allocates in a lane of its own), or used the
      // same enrollment key (its stream moved on): decide again, on a free address and the key's new version.
      lostRace: (error) => lostAddress(error) || error instanceof ConcurrencyError,
      // The losers of one race, caught up at once, would all take the same next address again: a random pause
      // spreads them out, so that each catches up after the one before it committed.
      beforeRetry: (attempt) => new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt)),
    });
  }

  /**
   * Public keys, names and addresses are unique per tenant. In this replica the decision is taken under the tenant
   * lock against the nodes view plus the registrations in flight (the fast path), and the append runs after the
   * lock, so concurrent registrations share group commits; the node-identities unique indexes are the guarantee
   * across replicas.
   */
  private async register(command: RegisterNodeCommand, tenantId: string): Promise<RegisteredNode> {
    const decided = await this.locks.run(`tenant-nodes:${tenantId}`, () => this.decide(command, tenantId));
    try {
      await this.store.append(decided.append);
    } catch (error) {
      if (lostAddress(error)) this.reservations.lostAddress(tenantId, decided.answer.address);
      throw error;
    } finally {
      decided.release();
    }
    return decided.answer;
  }

  private async decide({ dto, principal, meta }: RegisterNodeCommand, tenantId: string) {
    const now = this.clock.now();
    const nodeId = randomUUID();
    const secret = newSecret();
    const appends: StreamAppend[] = [];
    const nodeExtras: Event[] = [];
    let enrollmentKeyId: string | undefined;
    let ephemeral = false;
    // Tags grant access, so who may put which tag is the policy's tagOwners (checked by the decider). A user's node
    // is theirs; a key's node gets the key's tags (vetted when the key was made) and is owned by them, or, for an
    // untagged key, by the key's creator. A tagged key acts as a node carrying its tags for any further tag.
    let owner: string | null = null;
    let grantedTags: string[] = [];
    let tagOwnership = this.configs.tagOwnershipOf(tenantId, { tags: [] });

    if (principal.kind === 'user') {
      owner = principal.userId;
      tagOwnership = this.configs.tagOwnershipOf(tenantId, { userId: principal.userId, role: principal.role ?? undefined });
    }
    if (principal.kind === 'enrollment') {
      const key = await this.keys.find(principal.keyId);
      if (!key) throw new DomainError('ENROLLMENT_KEY_INVALID', 'UNAUTHORIZED', 'invalid or expired enrollment key');
      grantedTags = key.state.tags;
      owner = grantedTags.length ? null : key.state.createdBy ?? null;
      tagOwnership = this.configs.tagOwnershipOf(tenantId, { tags: grantedTags });
      enrollmentKeyId = key.id;
      ephemeral = key.state.ephemeral === true;
      const used = decideEnrollmentKey({ type: 'UseEnrollmentKey', nodeId }, key.state, { now });
      // A single-use key is consumed on its own stream. A reusable one (a fleet enrolling with one key at once) is
      // only checked there — unchanged since it was read, so a revocation in between is a race lost and decided
      // again — and its use recorded with the node, so concurrent enrolments do not all contend for its version.
      if (key.state.reusable) {
        appends.push({ streamId: streams.enrollmentKey(key.id), expectedVersion: key.version, events: [] });
        nodeExtras.push(...used);
      } else {
        appends.push({ streamId: streams.enrollmentKey(key.id), expectedVersion: key.version, events: used });
      }
    }

    const events = decideNode({
      type: 'RegisterNode', nodeId, tenantId, name: dto.name, publicKey: dto.publicKey, endpoint: dto.endpoint,
      listenPort: dto.listenPort, tags: dto.tags ?? [], owner, grantedTags, tagOwnership, tokenHash: hashSecret(secret), enrollmentKeyId,
      tenant: this.reservations.index(tenantId, this.nodes.tenantIndex(tenantId), (lane) => this.nodes.lastAddressInLane(tenantId, lane)),
      advertisedRoutes: dto.advertiseRoutes, exitNode: dto.exitNode, ephemeral,
    }, { status: 'absent', lastSeenAt: null, endpoint: null }, { now });
    appends.unshift({ streamId: streams.node(nodeId), expectedVersion: 0, events: [...events, ...nodeExtras] as Event[] });

    const registered = (events[0] as NodeRegistered).data;
    return {
      append: { tenantId, streams: appends, metadata: { ...meta, actor: principal.kind === 'enrollment' ? { kind: 'node' as const, id: nodeId } : meta.actor } },
      release: this.reservations.reserve(tenantId, { name: registered.name, publicKey: registered.publicKey, address: registered.address }),
      answer: {
        id: nodeId, name: registered.name, publicKey: registered.publicKey, address: registered.address,
        tags: registered.tags, nodeToken: formatCredential(NODE_TOKEN_PREFIX, nodeId, secret),
      } satisfies RegisteredNode,
    };
  }
}
