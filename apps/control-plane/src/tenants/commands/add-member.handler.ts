import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideTenant, DomainError, evolveTenant, initialTenantState, normalizeEmail, streams } from '@meshgate/domain';
import type { MemberView } from '@meshgate/contracts';
import { DirectoryReadModel } from '../../auth/directory.read-model';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { loadAggregate } from '../../event-store/fold';
import { AddMemberCommand } from './add-member.command';

@CommandHandler(AddMemberCommand)
export class AddMemberHandler implements ICommandHandler<AddMemberCommand, MemberView> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore, private readonly directory: DirectoryReadModel) {}

  async execute({ tenantId, email, role, actorRole, meta }: AddMemberCommand): Promise<MemberView> {
    const user = this.directory.userByEmail(normalizeEmail(email));
    if (!user) throw new DomainError('USER_NOT_FOUND', 'NOT_FOUND', 'no user is registered with that email');
    const streamId = streams.tenant(tenantId);
    const { state, version } = loadAggregate(this.store, streamId, evolveTenant, initialTenantState);
    const events = decideTenant({ type: 'AddMember', userId: user.id, role, actorRole }, state);
    await this.store.append({ tenantId, streams: [{ streamId, expectedVersion: version, events }], metadata: meta });
    return { userId: user.id, email: user.email, role };
  }
}
