import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { checkPolicy, decidePolicy, streams } from '@meshgate/domain';
import type { PolicyView } from '@meshgate/contracts';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { NodeConfigView } from '../../projections/node-config.view';
import { ScheduleService } from '../schedule.service';
import { UpdatePolicyCommand } from './update-policy.command';

@CommandHandler(UpdatePolicyCommand)
export class UpdatePolicyHandler implements ICommandHandler<UpdatePolicyCommand, PolicyView> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly configs: NodeConfigView,
    private readonly schedules: ScheduleService,
  ) {}

  async execute({ tenantId, document, expectedVersion, meta }: UpdatePolicyCommand): Promise<PolicyView> {
    const current = this.configs.policyOf(tenantId);
    // Validation and the document's own tests run against the tenant's nodes as they are now; a refusal appends nothing.
    const checked = checkPolicy(document, this.configs.identitiesOf(tenantId), current.open, this.configs.usersOf(tenantId));
    const text = typeof document === 'string' ? document : undefined;
    // The config projection holds the current policy: each version is one event, so the policy version is the stream
    // version, and folding every stored document on each PUT is not needed.
    const events = decidePolicy(
      { type: 'UpdatePolicy', tenantId, policy: checked.document, text, expectedVersion },
      { version: current.version, policy: current.document },
    );
    await this.store.append({ tenantId, streams: [{ streamId: streams.policy(tenantId), expectedVersion: current.version, events }], metadata: meta });
    // Windows of schedules the new document names may be open right now.
    await this.schedules.syncTenant(tenantId);
    return { version: events[0].data.version, policy: checked.document, warnings: checked.warnings };
  }
}
