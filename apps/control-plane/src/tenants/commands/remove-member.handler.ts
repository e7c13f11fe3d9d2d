import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideTenant, evolveTenant, initialTenantState, streams } from '@meshgate/domain';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { loadAggregate } from '../../event-store/fold';
import { RemoveMemberCommand } from './remove-member.command';

/** Ends a membership; the member's tenant-scoped tokens stop working with the next request (credentials guard). */
@CommandHandler(RemoveMemberCommand)
export class RemoveMemberHandler implements ICommandHandler<RemoveMemberCommand, void> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  async execute({ tenantId, userId, actorRole, meta }: RemoveMemberCommand): Promise<void> {
    const streamId = streams.tenant(tenantId);
    const { state, version } = await loadAggregate(this.store, streamId, evolveTenant, initialTenantState);
    const events = decideTenant({ type: 'RemoveMember', userId, actorRole }, state);
    await this.store.append({ tenantId, streams: [{ streamId, expectedVersion: version, events }], metadata: meta });
  }
}
