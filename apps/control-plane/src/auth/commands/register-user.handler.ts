import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import * as argon2 from 'argon2';
import { decideTenant, decideUser, evolveTenant, initialTenantState, initialUserState, normalizeEmail, streams } from '@meshgate/domain';
import type { UserView } from '@meshgate/contracts';
import { KeyedMutex } from '../../common/keyed-mutex';
import { EVENT_STORE, EventStore, StreamAppend } from '../../event-store/event-store.port';
import { loadAggregate } from '../../event-store/fold';
import { DirectoryReadModel } from '../directory.read-model';
import { RegisterUserCommand } from './register-user.command';

@CommandHandler(RegisterUserCommand)
export class RegisterUserHandler implements ICommandHandler<RegisterUserCommand, UserView> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly directory: DirectoryReadModel,
    private readonly locks: KeyedMutex,
  ) {}

  async execute({ email, password, meta }: RegisterUserCommand): Promise<UserView> {
    const passwordHash = await argon2.hash(password, { type: argon2.argon2id });
    const normalized = normalizeEmail(email);
    // Emails are unique across users: decide and append under one lock so two sign-ups cannot both pass the check.
    return this.locks.run('users', async () => {
      const userId = randomUUID();
      const streamId = streams.user(userId);
      const events = decideUser(
        { type: 'RegisterUser', userId, email: normalized, passwordHash, emailTaken: !!(await this.directory.userByEmail(normalized)) },
        initialUserState, // a fresh id: the stream is new
      );
      // Invitations to this email are accepted in the same append: the user is a member of those tenants from the start.
      const invitations = await Promise.all((await this.directory.tenantsInviting(normalized)).map(async (tenantId): Promise<StreamAppend> => {
        const tenantStream = streams.tenant(tenantId);
        const { state, version } = await loadAggregate(this.store, tenantStream, evolveTenant, initialTenantState);
        const accepted = decideTenant({ type: 'AcceptInvitation', email: normalized, userId }, state);
        return { streamId: tenantStream, expectedVersion: version, events: accepted, tenantId };
      }));
      await this.store.append({
        tenantId: null,
        streams: [{ streamId, expectedVersion: 0, events }, ...invitations],
        metadata: { ...meta, actor: { kind: 'user', id: userId } },
      });
      return { id: userId, email: normalized };
    });
  }
}
