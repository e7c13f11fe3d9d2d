import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import {
  decideTenant, decideUser, evolveTenant, evolveUser, initialTenantState, initialUserState, normalizeEmail, streams,
} from '@meshgate/domain';
import { KeyedMutex } from '../../common/keyed-mutex';
import { EVENT_STORE, EventStore, StreamAppend } from '../../event-store/event-store.port';
import { loadAggregate } from '../../event-store/fold';
import { DirectoryReadModel } from '../directory.read-model';
import { SignInSsoCommand } from './sign-in-sso.command';

/**
 * The user behind an IdP identity (issuer + subject): provisioned at the first sign-on (`UserProvisioned`, with the
 * pending invitations of their email accepted in the same append, whatever REGISTRATION says: the IdP and
 * OIDC_ALLOWED_DOMAINS are the gate), their IdP groups recorded whenever they differ from the last sign-on's
 * (`UserGroupsChanged`). Answers the user's id.
 */
@CommandHandler(SignInSsoCommand)
export class SignInSsoHandler implements ICommandHandler<SignInSsoCommand, string> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly directory: DirectoryReadModel,
    private readonly locks: KeyedMutex,
  ) {}

  async execute({ issuer, subject, email, groups, meta }: SignInSsoCommand): Promise<string> {
    const normalized = normalizeEmail(email);
    // The registrations' lock: one identity is provisioned once, and an email is held by one user.
    return this.locks.run('users', async () => {
      const known = await this.directory.userByIdentity(issuer, subject);
      if (known) {
        const streamId = streams.user(known.id);
        const { state, version } = await loadAggregate(this.store, streamId, evolveUser, initialUserState);
        const events = decideUser({ type: 'RecordUserGroups', groups }, state);
        if (events.length > 0) {
          await this.store.append({ tenantId: null, streams: [{ streamId, expectedVersion: version, events }], metadata: { ...meta, actor: { kind: 'user', id: known.id } } });
        }
        return known.id;
      }
      const userId = randomUUID();
      const events = decideUser({
        type: 'ProvisionUser', userId, email: normalized, issuer, subject, groups, emailTaken: !!(await this.directory.userByEmail(normalized)),
      }, initialUserState);
      const invitations = await Promise.all((await this.directory.tenantsInviting(normalized)).map(async (tenantId): Promise<StreamAppend> => {
        const tenantStream = streams.tenant(tenantId);
        const { state, version } = await loadAggregate(this.store, tenantStream, evolveTenant, initialTenantState);
        return { streamId: tenantStream, expectedVersion: version, events: decideTenant({ type: 'AcceptInvitation', email: normalized, userId }, state), tenantId };
      }));
      await this.store.append({
        tenantId: null,
        streams: [{ streamId: streams.user(userId), expectedVersion: 0, events }, ...invitations],
        metadata: { ...meta, actor: { kind: 'user', id: userId } },
      });
      return userId;
    });
  }
}
