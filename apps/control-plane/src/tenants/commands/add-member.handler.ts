import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { decideTenant, evolveTenant, initialTenantState, normalizeEmail, streams } from '@meshgate/domain';
import type { InvitationView } from '@meshgate/contracts';
import { DirectoryReadModel } from '../../auth/directory.read-model';
import { KeyedMutex } from '../../common/keyed-mutex';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { loadAggregate } from '../../event-store/fold';
import { AddMemberCommand } from './add-member.command';

/** Adds a registered user, or invites an email nobody registered yet; both answer the same. */
@CommandHandler(AddMemberCommand)
export class AddMemberHandler implements ICommandHandler<AddMemberCommand, InvitationView> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly directory: DirectoryReadModel,
    private readonly locks: KeyedMutex,
  ) {}

  async execute({ tenantId, email, role, actorRole, meta }: AddMemberCommand): Promise<InvitationView> {
    const normalized = normalizeEmail(email);
    // Under the registrations' lock: an email cannot get registered between the lookup and an invitation's append
    // (the invitation would never be accepted).
    return this.locks.run('users', async () => {
      const user = await this.directory.userByEmail(normalized);
      const streamId = streams.tenant(tenantId);
      const { state, version } = await loadAggregate(this.store, streamId, evolveTenant, initialTenantState);
      const events = decideTenant({ type: 'AddMember', email: normalized, userId: user?.id ?? null, role, actorRole }, state);
      await this.store.append({ tenantId, streams: [{ streamId, expectedVersion: version, events }], metadata: meta });
      return { email: normalized, role };
    });
  }
}
