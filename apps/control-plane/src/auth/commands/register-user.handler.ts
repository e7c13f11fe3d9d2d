import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import * as argon2 from 'argon2';
import { decideTenant, decideUser, DomainError, evolveTenant, initialTenantState, initialUserState, normalizeEmail, streams } from '@meshgate/domain';
import type { UserView } from '@meshgate/contracts';
import { KeyedMutex } from '../../common/keyed-mutex';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { EVENT_STORE, EventStore, StreamAppend } from '../../event-store/event-store.port';
import { loadAggregate } from '../../event-store/fold';
import { FIRST_USER_KEY } from '../../projections/directory.inline';
import { UniqueViolationError } from '../../storage/database.port';
import { DirectoryReadModel } from '../directory.read-model';
import { RegisterUserCommand } from './register-user.command';

const byInvitation = () => new DomainError('REGISTRATION_BY_INVITATION', 'FORBIDDEN',
  'registration is by invitation (REGISTRATION=invite): ask an owner or admin of a tenant to add this email as a member');

@CommandHandler(RegisterUserCommand)
export class RegisterUserHandler implements ICommandHandler<RegisterUserCommand, UserView> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly directory: DirectoryReadModel,
    private readonly locks: KeyedMutex,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async execute({ email, password, meta }: RegisterUserCommand): Promise<UserView> {
    const passwordHash = await argon2.hash(password, { type: argon2.argon2id });
    const normalized = normalizeEmail(email);
    // Emails are unique across users: decide and append under one lock so two sign-ups cannot both pass the check.
    return this.locks.run('users', async () => {
      const userId = randomUUID();
      const streamId = streams.user(userId);
      const inviting = await this.directory.tenantsInviting(normalized);
      // By invitation: an email no tenant has invited may not register, except the very first user (who creates the first tenant).
      const firstUser = this.config.registration === 'invite' && inviting.length === 0;
      const events = decideUser(
        { type: 'RegisterUser', userId, email: normalized, passwordHash, emailTaken: !!(await this.directory.userByEmail(normalized)), firstUser },
        initialUserState, // a fresh id: the stream is new
      );
      if (firstUser && (await this.directory.hasUsers())) throw byInvitation();
      // Invitations to this email are accepted in the same append, once: the user is a member of those tenants from the start.
      const invitations = await Promise.all(inviting.map(async (tenantId): Promise<StreamAppend> => {
        const tenantStream = streams.tenant(tenantId);
        const { state, version } = await loadAggregate(this.store, tenantStream, evolveTenant, initialTenantState);
        const accepted = decideTenant({ type: 'AcceptInvitation', email: normalized, userId }, state);
        return { streamId: tenantStream, expectedVersion: version, events: accepted, tenantId };
      }));
      await this.store.append({
        tenantId: null,
        streams: [{ streamId, expectedVersion: 0, events }, ...invitations],
        metadata: { ...meta, actor: { kind: 'user', id: userId } },
      }).catch((error: unknown) => {
        // Another replica let its first user in between our check and our commit: this one is a stranger now.
        throw error instanceof UniqueViolationError && error.key === FIRST_USER_KEY ? byInvitation() : error;
      });
      return { id: userId, email: normalized };
    });
  }
}
