import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideTenant, evolveTenant, initialTenantState, streams } from '@meshgate/domain';
import type { MemberView } from '@meshgate/contracts';
import { DirectoryReadModel } from '../../auth/directory.read-model';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { loadAggregate } from '../../event-store/fold';
import { ChangeMemberRoleCommand } from './change-member-role.command';

/**
 * Changes a member's role. The memberships view takes the change when it commits, so the member's next request is
 * checked against it: a token issued for the previous role is refused (401, log in again), on every replica.
 */
@CommandHandler(ChangeMemberRoleCommand)
export class ChangeMemberRoleHandler implements ICommandHandler<ChangeMemberRoleCommand, MemberView> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore, private readonly directory: DirectoryReadModel) {}

  async execute({ tenantId, userId, role, actorRole, meta }: ChangeMemberRoleCommand): Promise<MemberView> {
    const streamId = streams.tenant(tenantId);
    const { state, version } = await loadAggregate(this.store, streamId, evolveTenant, initialTenantState);
    const events = decideTenant({ type: 'ChangeMemberRole', userId, role, actorRole }, state);
    // Expected version: two concurrent demotions of the last two owners cannot both pass the last-owner check.
    if (events.length > 0) await this.store.append({ tenantId, streams: [{ streamId, expectedVersion: version, events }], metadata: meta });
    const user = await this.directory.userById(userId);
    return { userId, email: user?.email ?? '', role };
  }
}
