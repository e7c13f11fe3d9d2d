import { Inject } from '@nestjs/common';
import { CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { decideTenant, DomainError, initialTenantState, streams } from '@meshgate/domain';
import type { TenantView } from '@meshgate/contracts';
import { EVENT_STORE, EventStore } from '../../event-store/event-store.port';
import { DirectoryReadModel } from '../directory.read-model';
import { CreateTenantCommand } from './create-tenant.command';

@CommandHandler(CreateTenantCommand)
export class CreateTenantHandler implements ICommandHandler<CreateTenantCommand, TenantView> {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore, private readonly directory: DirectoryReadModel) {}

  async execute({ name, ownerUserId, meta }: CreateTenantCommand): Promise<TenantView> {
    // A token outlives nothing: the user it names must still exist.
    if (!this.directory.userById(ownerUserId)) throw new DomainError('USER_NOT_FOUND', 'UNAUTHORIZED', 'unknown user');
    const tenantId = randomUUID();
    const events = decideTenant({ type: 'CreateTenant', tenantId, name, ownerUserId }, initialTenantState);
    await this.store.append({ tenantId, streams: [{ streamId: streams.tenant(tenantId), expectedVersion: 0, events }], metadata: meta });
    return { id: tenantId, name };
  }
}
