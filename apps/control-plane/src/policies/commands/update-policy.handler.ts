import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decidePolicy, DomainError, evolvePolicy, initialPolicyState, parsePolicy, streams } from '@meshgate/domain';
import type { PolicyView } from '@meshgate/contracts';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { loadAggregate } from '../../event-store/fold';
import { UpdatePolicyCommand } from './update-policy.command';

@CommandHandler(UpdatePolicyCommand)
export class UpdatePolicyHandler implements ICommandHandler<UpdatePolicyCommand, PolicyView> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ tenantId, document, expectedVersion, meta }: UpdatePolicyCommand): Promise<PolicyView> {
    const parsed = parsePolicy(document);
    if (!parsed.ok) throw new DomainError('POLICY_INVALID', 'INVALID', 'policy is invalid', parsed.errors);
    const streamId = streams.policy(tenantId);
    const { state, version } = loadAggregate(this.store, streamId, evolvePolicy, initialPolicyState);
    const events = decidePolicy({ type: 'UpdatePolicy', tenantId, policy: parsed.policy, expectedVersion }, state);
    await this.store.append({ tenantId, streams: [{ streamId, expectedVersion: version, events }], metadata: meta });
    return { version: events[0].data.version, policy: parsed.policy };
  }
}
