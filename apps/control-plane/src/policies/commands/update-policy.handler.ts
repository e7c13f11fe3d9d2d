import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decidePolicy, DomainError, parsePolicy, streams } from '@meshgate/domain';
import type { PolicyView } from '@meshgate/contracts';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { ConfigProjection } from '../../projections/config.projection';
import { UpdatePolicyCommand } from './update-policy.command';

@CommandHandler(UpdatePolicyCommand)
export class UpdatePolicyHandler implements ICommandHandler<UpdatePolicyCommand, PolicyView> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore, private readonly configs: ConfigProjection) {}

  async execute({ tenantId, document, expectedVersion, meta }: UpdatePolicyCommand): Promise<PolicyView> {
    const parsed = parsePolicy(document);
    if (!parsed.ok) throw new DomainError('POLICY_INVALID', 'INVALID', 'policy is invalid', parsed.errors);
    const streamId = streams.policy(tenantId);
    // The config projection holds the current policy: each version is one event, so the policy version is the stream
    // version, and folding every stored document on each PUT is not needed.
    const current = this.configs.policyOf(tenantId);
    const events = decidePolicy({ type: 'UpdatePolicy', tenantId, policy: parsed.policy, expectedVersion }, { version: current.version, policy: current.document });
    await this.store.append({ tenantId, streams: [{ streamId, expectedVersion: current.version, events }], metadata: meta });
    return { version: events[0].data.version, policy: parsed.policy };
  }
}
